#pragma once
// Streams one snapshot's normalized records into processed/<id>.json, page by page. Rejections
// are listed as the parser kept them (a few per page) and counted in full in rejected_count.
// A write failure is logged once and ends the file (the raw pages stay the reference).
#include "market/parse_markets.hpp"
#include "pipeline/seams.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace etl::pipeline {

class ProcessedWriter {
public:
  ProcessedWriter(SnapshotQueue& queue, std::string snapshot_id, std::string vs_currency)
      : m_queue(queue), m_id(std::move(snapshot_id)), m_currency(std::move(vs_currency)) {}

  // Where a page's records went in the file: `length` bytes at `offset`, without the separator
  // before them. The same records can be copied from there into a later snapshot's file.
  struct Chunk {
    std::uint64_t offset = 0;
    std::size_t length = 0;
  };

  // Appends the page's records; the chunk they occupy, or nullopt when the file failed.
  std::optional<Chunk> add_page(int page, const market::ParsedPage& parsed);
  // Appends records written before (a chunk read back from an earlier file), as add_page would.
  std::optional<Chunk> add_records(std::string_view records);
  bool commit();

private:
  bool open();
  bool write(std::string_view bytes);
  bool fail(const std::string& why);

  SnapshotQueue& m_queue;
  std::string m_id;
  std::string m_currency;
  std::unique_ptr<ProcessedFile> m_file;
  std::string m_buffer;
  std::string m_rejected;
  std::size_t m_rejected_count = 0;
  std::uint64_t m_written = 0; // bytes appended so far
  bool m_first = true;
  bool m_failed = false;
};

} // namespace etl::pipeline
