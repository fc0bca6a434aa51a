#pragma once
// Streams one snapshot's normalized records into processed/<id>.json, page by page. Rejections
// are listed as the parser kept them (a few per page) and counted in full in rejected_count.
// A write failure is logged once and ends the file (the raw pages stay the reference).
#include "market/parse_markets.hpp"
#include "pipeline/seams.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace etl::pipeline {

class ProcessedWriter {
public:
  ProcessedWriter(SnapshotQueue& queue, std::string snapshot_id, std::string vs_currency)
      : m_queue(queue), m_id(std::move(snapshot_id)), m_currency(std::move(vs_currency)) {}

  bool add_page(int page, const market::ParsedPage& parsed);
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
  bool m_first = true;
  bool m_failed = false;
};

} // namespace etl::pipeline
