#include "pipeline/processed_writer.hpp"

#include "market/processed_json.hpp"

#include <spdlog/spdlog.h>

namespace etl::pipeline {

std::optional<ProcessedWriter::Chunk> ProcessedWriter::add_page(int page,
                                                                const market::ParsedPage& parsed) {
  if (!open()) return std::nullopt;
  m_buffer.clear();
  std::size_t records_start = 0;
  for (const auto& coin : parsed.coins) {
    m_buffer += m_first ? "\n" : ",\n";
    if (records_start == 0) records_start = m_buffer.size();
    m_first = false;
    market::append_processed_record(m_buffer, coin, m_currency);
  }
  for (const auto& r : parsed.rejected) {
    m_rejected += m_rejected.empty() ? "" : ",";
    m_rejected.append("{\"page\":").append(std::to_string(page)).append(",\"index\":");
    m_rejected.append(std::to_string(r.index)).append(",\"id\":");
    market::append_json_string(m_rejected, r.id);
    m_rejected += ",\"reason\":";
    market::append_json_string(m_rejected, r.reason);
    m_rejected += '}';
  }
  m_rejected_count += parsed.rejected_count;
  const Chunk chunk{m_written + records_start, m_buffer.size() - records_start};
  if (!write(m_buffer)) return std::nullopt;
  return chunk;
}

std::optional<ProcessedWriter::Chunk> ProcessedWriter::add_records(std::string_view records) {
  if (!open()) return std::nullopt;
  if (records.empty()) return Chunk{m_written, 0};
  if (!write(m_first ? "\n" : ",\n")) return std::nullopt;
  m_first = false;
  const Chunk chunk{m_written, records.size()};
  if (!write(records)) return std::nullopt;
  return chunk;
}

bool ProcessedWriter::commit() {
  if (!open()) return false;
  std::string tail = "\n],\"rejected\":[";
  tail.append(m_rejected)
      .append("],\"rejected_count\":")
      .append(std::to_string(m_rejected_count))
      .append("}\n");
  if (!write(tail)) return false;
  auto ok = m_file->commit();
  if (!ok) {
    spdlog::error("processed file for {} not written: {}", m_id, ok.error().message);
    return false;
  }
  return true;
}

bool ProcessedWriter::open() {
  if (m_file) return true;
  if (m_failed) return false;
  auto file = m_queue.create_processed(m_id);
  if (!file) return fail(file.error().message);
  m_file = std::move(*file);
  std::string header = "{\"snapshot_id\":";
  market::append_json_string(header, m_id);
  header += ",\"vs_currency\":";
  market::append_json_string(header, m_currency);
  header += ",\"coins\":[";
  return write(header);
}

bool ProcessedWriter::write(std::string_view bytes) {
  if (auto ok = m_file->append(bytes); !ok) return fail(ok.error().message);
  m_written += bytes.size();
  return true;
}

bool ProcessedWriter::fail(const std::string& why) {
  if (!m_failed) spdlog::error("processed file for {} not written: {}", m_id, why);
  m_failed = true;
  m_file.reset();
  return false;
}

} // namespace etl::pipeline
