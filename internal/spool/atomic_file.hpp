#pragma once
// Crash-safe file writes: a temporary file in the same directory, fsync, rename, fsync of the
// directory. A reader (or a restart after kill -9) sees either nothing or the whole file under
// the final name, never a prefix. Temporary names start with ".tmp-" and are swept at start-up.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace etl::spool {

struct FileError {
  std::filesystem::path path;
  int error_number = 0; // errno
  std::string message;  // "write data/raw/x.json: No space left on device"
};

// An open temporary file that becomes `final_path` on commit(); removed if never committed.
class AtomicFile {
public:
  static tl::expected<AtomicFile, FileError> create(const std::filesystem::path& final_path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  tl::expected<void, FileError> append(std::string_view bytes);
  // fsync, rename over final_path, fsync the directory.
  tl::expected<void, FileError> commit();

private:
  AtomicFile(int fd, std::filesystem::path tmp, std::filesystem::path final_path);
  void discard() noexcept;
  int m_fd = -1;
  std::filesystem::path m_tmp;
  std::filesystem::path m_final;
};

tl::expected<void, FileError> write_file_atomic(const std::filesystem::path& path,
                                                std::string_view bytes);
tl::expected<std::string, FileError> read_file(const std::filesystem::path& path);
// Exactly `length` bytes at `offset`; a file that ends sooner is an error.
tl::expected<std::string, FileError> read_file_range(const std::filesystem::path& path,
                                                     std::uint64_t offset, std::size_t length);
tl::expected<void, FileError> fsync_directory(const std::filesystem::path& dir);
// Removes a file and makes the removal durable. Missing files are not an error.
tl::expected<void, FileError> remove_durably(const std::filesystem::path& path);

} // namespace etl::spool
