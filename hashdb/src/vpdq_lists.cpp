// vpdq lists: import and export of the vPDQ video file (lists.hpp, lists_internal.hpp).
//
// Why one INSERT per video instead of the staged COPY of the other signals: a video is one
// row of hashes plus one row of vpdq_frames whose key is that row's id, and video lists hold
// thousands of videos, not hundreds of millions of hashes.
#include "crypto.hpp"
#include "lists_internal.hpp"

#include "hashguard/core/hex.hpp"

#include <cstring>
#include <istream>
#include <iterator>
#include <ostream>

namespace hashguard::hashdb {

std::string pack_vpdq_frames(std::span<const core::vpdq_frame> frames) {
  std::string out;
  out.reserve(frames.size() * vpdq_frame_bytes);
  for (const auto& f : frames) {
    for (int w = 3; w >= 0; --w) {
      const std::uint64_t word = f.hash.words[static_cast<std::size_t>(w)];
      for (int b = 7; b >= 0; --b) out.push_back(static_cast<char>((word >> (8 * b)) & 0xff));
    }
    out.push_back(static_cast<char>(f.quality));
    for (int b = 0; b < 4; ++b)
      out.push_back(static_cast<char>((f.frame_number >> (8 * b)) & 0xff));
    std::uint32_t t = 0;
    std::memcpy(&t, &f.timestamp, sizeof t);
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((t >> (8 * b)) & 0xff));
  }
  return out;
}

std::optional<std::vector<core::vpdq_frame>> unpack_vpdq_frames(
    std::span<const std::uint8_t> data) {
  if (data.size() % vpdq_frame_bytes != 0) return std::nullopt;
  std::vector<core::vpdq_frame> frames(data.size() / vpdq_frame_bytes);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::uint8_t* p = data.data() + i * vpdq_frame_bytes;
    auto& f = frames[i];
    for (int w = 0; w < 4; ++w) {
      std::uint64_t word = 0;
      for (int b = 0; b < 8; ++b) word = (word << 8) | p[8 * w + b];
      f.hash.words[static_cast<std::size_t>(3 - w)] = word;
    }
    f.quality = p[32];
    if (f.quality > 100) return std::nullopt;
    f.frame_number = 0;
    std::uint32_t t = 0;
    for (int b = 3; b >= 0; --b) {
      f.frame_number = (f.frame_number << 8) | p[33 + b];
      t = (t << 8) | p[37 + b];
    }
    std::memcpy(&f.timestamp, &t, sizeof t);
  }
  return frames;
}

core::result<import_report> list_store::import_vpdq(const hash_list& list, std::istream& in,
                                                    const import_options& options) {
  // Whole in memory: a video list file is a few MB per thousand videos.
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return errc::io_error;
  import_report report;
  report.format = list_format::hex;  // the report's format field names the line formats only
  for (const char c : text) report.lines += c == '\n' ? 1U : 0U;
  if (!text.empty() && text.back() != '\n') ++report.lines;
  const auto videos =
      core::parse_vpdq_videos(text, options.video_name.empty() ? "video" : options.video_name);
  if (videos.empty()) return errc::unknown_format;  // no frame line, no "# video:" line

  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto found = tx.exec_prepared("lists_by_name_lock", list.name);
    if (found.empty()) throw abort_with{errc::not_found, "no list named " + list.name};
    hash_list target = row_to_list(found[0]);
    if (target.retired) throw abort_with{errc::conflict, "list " + target.name + " is retired"};
    if (target.sig != core::signal::vpdq) {
      throw abort_with{errc::invalid_argument, "list " + target.name + " is not a vpdq list"};
    }
    for (const auto& v : videos) {
      if (v.error_line) {
        ++report.rejected;
        if (report.rejected_lines.size() < options.max_listed_lines) {
          report.rejected_lines.push_back({*v.error_line, v.name + ": " + v.error});
        }
        continue;
      }
      const auto value = detail::sha256(core::format_vpdq(v.frames));
      const std::string hex = core::to_hex(std::span<const std::uint8_t>(value));
      auto inserted = tx.exec_params(
          "INSERT INTO hashes (list_id, value, external_id) VALUES ($1, decode($2, 'hex'), $3)"
          " ON CONFLICT (list_id, value) DO NOTHING RETURNING id",
          target.id, hex, v.name);
      if (inserted.empty()) {
        ++report.duplicates;
        if (report.duplicate_lines.size() < options.max_listed_lines) {
          report.duplicate_lines.push_back({v.line, "duplicate: " + v.name});
        }
        continue;
      }
      const std::string packed = pack_vpdq_frames(v.frames);
      tx.exec_params0(
          "INSERT INTO vpdq_frames (entry_id, frames, data) VALUES ($1, $2, decode($3, 'hex'))",
          inserted[0][0].as<std::int64_t>(), static_cast<std::int64_t>(v.frames.size()),
          core::to_hex(std::span<const std::uint8_t>(
              reinterpret_cast<const std::uint8_t*>(packed.data()), packed.size())));  // NOLINT
      ++report.accepted;
    }
    if (report.accepted > 0) {
      target = row_to_list(
          tx.exec_prepared1("lists_bump", target.id, static_cast<std::int64_t>(report.accepted)));
    }
    report.version = target.version;
    tx.commit();
    if (options.progress) options.progress(report.lines, text.size());
    return report;
  });
}

std::uint64_t export_vpdq(pqxx::work& tx, const hash_list& list, std::ostream& out) {
  std::vector<core::vpdq_video> videos;
  for (const auto& row :
       tx.exec_params("SELECT coalesce(h.external_id, ''), f.data FROM hashes h"
                      " JOIN vpdq_frames f ON f.entry_id = h.id"
                      " WHERE h.list_id = $1 AND h.retired_at IS NULL ORDER BY h.id",
                      list.id)) {
    core::vpdq_video v;
    v.name = row[0].as<std::string>();
    const std::string hex = bytea_hex(row[1]);
    auto bytes = core::parse_hex_bytes(hex, hex.size() / 2);
    if (!bytes) throw abort_with{errc::query_failed, "unexpected vpdq_frames row"};
    auto frames = unpack_vpdq_frames(*bytes);
    if (!frames) throw abort_with{errc::query_failed, "unexpected vpdq_frames data"};
    v.frames = std::move(*frames);
    videos.push_back(std::move(v));
  }
  out << core::format_vpdq_videos(videos);
  tx.commit();
  if (!out) throw abort_with{errc::io_error, "write error in the export"};
  return videos.size();
}

}  // namespace hashguard::hashdb
