#include "spool/atomic_file.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <unistd.h>

namespace etl::spool {
namespace fs = std::filesystem;
namespace {

FileError make_error(std::string_view op, const fs::path& path, int err) {
  return FileError{path, err, std::string(op) + " " + path.string() + ": " + std::strerror(err)};
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(8, 'x');
  for (auto& c : s) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return s;
}

} // namespace

AtomicFile::AtomicFile(int fd, fs::path tmp, fs::path final_path)
    : m_fd(fd), m_tmp(std::move(tmp)), m_final(std::move(final_path)) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_tmp(std::move(other.m_tmp)),
      m_final(std::move(other.m_final)) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    m_fd = std::exchange(other.m_fd, -1);
    m_tmp = std::move(other.m_tmp);
    m_final = std::move(other.m_final);
  }
  return *this;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
    ::unlink(m_tmp.c_str());
  }
}

tl::expected<AtomicFile, FileError> AtomicFile::create(const fs::path& final_path) {
  const fs::path dir = final_path.has_parent_path() ? final_path.parent_path() : fs::path(".");
  fs::path tmp = dir / (".tmp-" + final_path.filename().string() + "." + random_suffix());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return tl::unexpected(make_error("create", tmp, errno));
  return AtomicFile(fd, std::move(tmp), final_path);
}

tl::expected<void, FileError> AtomicFile::append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(m_fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(make_error("write", m_final, errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

tl::expected<void, FileError> AtomicFile::commit() {
  if (::fsync(m_fd) != 0) return tl::unexpected(make_error("fsync", m_final, errno));
  if (::close(m_fd) != 0) {
    m_fd = -1;
    ::unlink(m_tmp.c_str());
    return tl::unexpected(make_error("close", m_final, errno));
  }
  m_fd = -1;
  if (::rename(m_tmp.c_str(), m_final.c_str()) != 0) {
    const int err = errno;
    ::unlink(m_tmp.c_str());
    return tl::unexpected(make_error("rename", m_final, err));
  }
  return fsync_directory(m_final.has_parent_path() ? m_final.parent_path() : fs::path("."));
}

tl::expected<void, FileError> write_file_atomic(const fs::path& path, std::string_view bytes) {
  auto file = AtomicFile::create(path);
  if (!file) return tl::unexpected(file.error());
  if (auto ok = file->append(bytes); !ok) return ok;
  return file->commit();
}

tl::expected<std::string, FileError> read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(make_error("open", path, errno));
  std::string out;
  std::array<char, 65536> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return tl::unexpected(make_error("read", path, err));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

tl::expected<std::string, FileError> read_file_range(const fs::path& path, std::uint64_t offset,
                                                     std::size_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(make_error("open", path, errno));
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO; // 0: the file ends before the range does
      ::close(fd);
      return tl::unexpected(make_error("read", path, err));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return out;
}

tl::expected<void, FileError> fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(make_error("open directory", dir, errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(make_error("fsync directory", dir, err));
  return {};
}

tl::expected<void, FileError> remove_durably(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return tl::unexpected(make_error("remove", path, errno));
  }
  return fsync_directory(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

} // namespace etl::spool
