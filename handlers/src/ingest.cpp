// The ingest handlers. Why thread_local scanners: image_scanner keeps its decode buffers
// between calls and is not thread-safe, and the scan pool's threads live as long as the
// server, so one scanner per pool thread allocates nothing on the steady path.
#include "area.hpp"
#include "hit_view.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/api/http.hpp"
#include "hashguard/api/json_io.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/text.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/digest.hpp"
#include "hashguard/scanner/video.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <vector>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

scanner::image_scanner& thread_scanner(const scanner::scan_options& options) {
  thread_local std::unique_ptr<scanner::image_scanner> s;
  if (!s || s->options().orientations != options.orientations ||
      s->options().trim != options.trim) {
    s = std::make_unique<scanner::image_scanner>(options);
  }
  return *s;
}

/// The scanner's options under match.orientations: the orientation hashes only when matched.
scanner::scan_options scan_options_of(const services& deps) {
  scanner::scan_options o = deps.scan;
  o.orientations = deps.orientations == orientation_match::exact;
  o.trim = deps.trim;
  return o;
}

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

json::object hashes_json(const scanner::scan_result& r) {
  json::object h;
  h["pdq"] = core::to_hex(r.pdq.hash);
  h["quality"] = r.pdq.quality;
  json::object d;
  for (std::size_t i = 1; i < r.pdq.dihedral.size(); ++i) {
    d[core::to_string(static_cast<core::dihedral>(i))] = core::to_hex(r.pdq.dihedral[i]);
  }
  h["dihedral"] = std::move(d);
  h["phash"] = core::to_hex(r.phash);
  h["md5"] = core::to_hex(std::span<const std::uint8_t>(r.digest.md5));
  h["sha1"] = core::to_hex(std::span<const std::uint8_t>(r.digest.sha1));
  h["sha256"] = core::to_hex(std::span<const std::uint8_t>(r.digest.sha256));
  h["width"] = r.width;
  h["height"] = r.height;
  h["frames"] = r.frames_in_file;
  return h;
}

/// Every hit of one scan: the first frame with all signals, then the other frames' PDQ.
/// An entry reached by several frames is kept once (the smallest distance).
/// The PDQ query of one frame under match.orientations: with `exact` the pixel-level
/// orientation hashes stand in for the dihedral ones (orientations[0] is the upright hash).
matcher::pdq_query pdq_query_of(const scanner::pdq_result& pdq,
                                const scanner::orientation_hashes& orientations,
                                orientation_match mode) {
  switch (mode) {
    case orientation_match::exact: return {orientations, 8, pdq.quality};
    case orientation_match::dihedral: return {pdq.dihedral, 8, pdq.quality};
    case orientation_match::off: break;
  }
  return {pdq.dihedral, 1, pdq.quality};
}

/// Names the orientation of a hit that matched through a rotated or mirrored hash.
void name_orientation(std::vector<core::hit>& hits) {
  for (core::hit& h : hits) {
    if (h.sig != core::signal::pdq || h.variant == core::dihedral::original) continue;
    auto detail = h.detail ? std::make_shared<core::hit_detail>(*h.detail)
                           : std::make_shared<core::hit_detail>();
    detail->orientation = h.variant;
    h.detail = std::move(detail);
  }
}

/// Adds `more` to `hits`, one hit per (list, entry): the smaller distance wins.
void merge_hits(std::vector<core::hit>& hits, const std::vector<core::hit>& more) {
  for (const auto& h : more) {
    bool seen = false;
    for (auto& old : hits) {
      if (old.list_id == h.list_id && old.entry_id == h.entry_id) {
        if (h.distance < old.distance) old = h;
        seen = true;
      }
    }
    if (!seen) hits.push_back(h);
  }
}

std::vector<core::hit> match_scan(const matcher::snapshot& snap, const scanner::scan_result& r,
                                  orientation_match mode) {
  std::vector<core::hit> hits;
  matcher::scan_query q;
  q.pdq = pdq_query_of(r.pdq, r.orientations, mode);
  q.phash = r.phash;
  q.md5 = r.digest.md5;
  q.sha1 = r.digest.sha1;
  q.sha256 = r.digest.sha256;
  snap.match(q, hits);
  name_orientation(hits);
  for (const auto& trimmed : r.trimmed) {
    // The content inside the bars (each candidate layout): a hit it gives, or a closer one,
    // says what was trimmed.
    matcher::scan_query tq;
    tq.pdq = pdq_query_of(trimmed.pdq, trimmed.orientations, mode);
    std::vector<core::hit> more;
    snap.match(tq, more);
    name_orientation(more);
    const auto& sides = trimmed.sides;
    for (auto& h : more) {
      auto detail = h.detail ? std::make_shared<core::hit_detail>(*h.detail)
                             : std::make_shared<core::hit_detail>();
      detail->trim =
          core::hit_detail::trim_box{static_cast<int>(sides.top), static_cast<int>(sides.bottom),
                                     static_cast<int>(sides.left), static_cast<int>(sides.right)};
      h.detail = std::move(detail);
    }
    merge_hits(hits, more);
  }
  for (const auto& f : r.frames) {
    if (f.index == 0) continue;
    matcher::scan_query fq;
    fq.pdq = pdq_query_of(f.pdq, f.orientations, mode);
    fq.query = static_cast<std::int32_t>(f.index);
    std::vector<core::hit> more;
    snap.match(fq, more);
    name_orientation(more);
    merge_hits(hits, more);
  }
  return hits;
}

core::action strictest_action(const matcher::snapshot& snap, const std::vector<core::hit>& hits) {
  core::action a = core::action::none;
  for (const auto& h : hits) {
    if (snap.find_list(h.list_id) != nullptr) a = core::strictest(a, snap.action_of(h));
  }
  return a;
}

/// A matched entry's provenance: {"exchange", "source_id", "tags"} (tags only when it has some).
json::object source_json(const core::hit_detail::source_ref& s) {
  json::object o{{"exchange", s.exchange}, {"source_id", s.source_id}};
  if (!s.tags.empty()) {
    json::array tags;
    for (const auto& t : s.tags) tags.emplace_back(t);
    o["tags"] = std::move(tags);
  }
  return o;
}

/// The hit's optional `detail` object: only the parts that are set.
json::object hit_detail_json(const core::hit_detail& d) {
  json::object o;
  if (d.orientation) o["orientation"] = core::to_string(*d.orientation);
  if (d.trim) {
    o["trim"] = json::object{{"top", d.trim->top},
                             {"bottom", d.trim->bottom},
                             {"left", d.trim->left},
                             {"right", d.trim->right}};
  }
  if (d.video) {
    json::array segments;
    for (const auto& seg : d.video->segments) {
      segments.push_back(json::object{{"start_s", seg.start_s}, {"end_s", seg.end_s}});
    }
    o["video"] = json::object{{"list_video", d.video->list_video},
                              {"query_match_percent", d.video->query_match_percent},
                              {"compared_match_percent", d.video->compared_match_percent},
                              {"segments", std::move(segments)}};
  }
  if (d.frame_timestamp_s) o["frame_timestamp_s"] = *d.frame_timestamp_s;
  if (d.source) o["source"] = source_json(*d.source);
  return o;
}

/// The hits of an answer as `caller` may see them (hit_view.hpp).
json::array hits_json(const matcher::snapshot& snap, const std::vector<core::hit>& hits,
                      const api::auth_context& caller) {
  json::array out;
  for (const auto& h : hits) {
    json::object o;
    o["list"] = h.list_id;
    if (const auto* l = snap.find_list(h.list_id)) {
      o["list_name"] = l->name;
      o["action"] = core::to_string(snap.action_of(h));
      // A near-miss (the list's review band) and a quarantined entry say why they only review.
      if (snap.in_review_band(h)) {
        o["near_miss"] = true;
        o["threshold"] = l->threshold;
        o["review_threshold"] = l->review_threshold;
      }
      if (snap.quarantined(h.entry_id)) o["quarantined"] = true;
    }
    o["entry"] = h.entry_id;
    o["signal"] = core::to_string(h.sig);
    o["distance"] = h.distance;
    o["variant"] = core::to_string(h.variant);
    o["frame"] = h.query;
    json::object detail = h.detail ? hit_detail_json(*h.detail) : json::object{};
    // Provenance comes from the snapshot the hit was found in (no database round trip); an
    // imported entry has none and its hit no `source`.
    if (!detail.contains("source")) {
      if (auto src = snap.source_of(h.entry_id)) detail["source"] = source_json(*src);
    }
    if (!detail.empty()) o["detail"] = std::move(detail);
    out.push_back(std::move(o));
  }
  return visible_hits(std::move(out), caller);
}

/// Whether reviewers suppressed this content (its SHA-256), as far as this node knows yet.
bool known_suppressed(const services& deps, const std::array<std::uint8_t, 32>& sha256) {
  return deps.suppressions != nullptr && deps.suppressions->contains(sha256);
}

/// Turns a match answer into the answer for suppressed content: a reviewer dismissed it as a
/// false positive, so the cache layer must serve it (DESIGN.md section 3); the hits stay in the
/// recorded event, not in the answer.
void answer_suppressed(const services& deps, json::object& out) {
  out["verdict"] = core::to_string(core::verdict::no_match);
  out["action"] = core::to_string(core::action::none);
  out["hits"] = json::array();
  out["suppressed"] = true;
  if (deps.suppressed_answers != nullptr) {
    deps.suppressed_answers->fetch_add(1, std::memory_order_relaxed);
  }
}

/// Whether a recorded scan gets the suppressed answer. When the event was committed, the
/// database's outcome is the freshest word: `suppressed`, or `recorded` meaning not suppressed
/// now (a confirmation may have lifted a suppression this node's set still holds for up to one
/// poll interval; answering no_match for confirmed content is the worse mistake). A spooled
/// event or a repeated request id says nothing about suppression: the set decides.
bool suppressed_answer(bool in_set, const hashdb::recorded& rec) {
  if (rec.outcome == hashdb::record_outcome::suppressed) return true;
  if (rec.outcome == hashdb::record_outcome::recorded &&
      rec.where == hashdb::durability::committed) {
    return false;
  }
  return in_set;
}

/// The probe detector's word on a query's PDQ (probe_guard.hpp): a 429 to send instead of
/// matching, or nullopt. A hash below the quality gate matches nothing, so it tells nothing.
std::optional<api::response> refused_as_probe(const services& deps, const api::auth_context& caller,
                                              const core::hash256& pdq, int quality) {
  if (deps.probes == nullptr || quality < core::pdq_min_quality) return std::nullopt;
  const auto d = deps.probes->check(caller.key_id, pdq);
  if (d.allowed) return std::nullopt;
  return api::response::error("probe_suspected",
                              "too many near-duplicate queries from this key; retry later",
                              d.retry_after_s);
}

/// X-Source-Url-Truncated: "1" when the cache layer cut the URL it sends, "0" or absent when
/// not; nullopt for anything else.
std::optional<bool> source_url_truncated(const api::request& req) {
  const auto v = req.header("X-Source-Url-Truncated");
  if (!v || *v == "0") return false;
  if (*v == "1") return true;
  return std::nullopt;
}

/// The match part of a scan answer: verdict (low_quality when nothing matched and the content
/// had no hash good enough to match), action, hits, no event yet. Returns the action.
core::action answer_hits(json::object& out, const matcher::snapshot& snap,
                         const std::vector<core::hit>& hits, const api::auth_context& caller,
                         bool low_quality) {
  core::verdict v = core::verdict::no_match;
  if (!hits.empty()) {
    v = core::verdict::match;
  } else if (low_quality) {
    v = core::verdict::low_quality;
  }
  const core::action act = hits.empty() ? core::action::none : strictest_action(snap, hits);
  out["verdict"] = core::to_string(v);
  out["action"] = core::to_string(act);
  out["hits"] = hits_json(snap, hits, caller);
  out["suppressed"] = false;
  out["snapshot_version"] = snap.version();
  out["event_id"] = nullptr;
  return act;
}

/// What an event stores about the scanned content.
struct recorded_content {
  scanner::digests digest;
  std::string pdq;  ///< hex, or empty
  std::optional<int> pdq_quality;
  std::string phash;  ///< hex, or empty
  std::string media_type;
};

/// How far ahead of this node's clock an X-Uploader-Time may be (another host's clock skew).
constexpr std::int64_t uploader_time_skew_us = 5 * 60 * 1'000'000LL;

/// X-Uploader-Account, X-Uploader-Ip, X-Uploader-Time: who uploaded the content, as the
/// platform knows it (issue 19; the CyberTipline report's reported person). Each is optional;
/// an empty value counts as absent. The account is printable UTF-8 of at most
/// hashdb::max_uploader_account_bytes; the IP an IPv4 or IPv6 address (stored canonical); the
/// time RFC 3339 with Z or an offset, not past now + uploader_time_skew_us. Personal data: an
/// error names the header, never its value (the request log keeps only the error code, and
/// never the headers).
std::optional<api::response> read_uploader(const api::request& req, hashdb::uploader_info& out) {
  const std::string_view account = req.header("X-Uploader-Account").value_or("");
  if (account.size() > hashdb::max_uploader_account_bytes || !core::printable_utf8(account)) {
    return api::response::error(
        api::errc::malformed,
        "X-Uploader-Account must be UTF-8 text without control characters, at most " +
            std::to_string(hashdb::max_uploader_account_bytes) + " bytes");
  }
  out.account = std::string(account);
  if (const std::string_view ip = req.header("X-Uploader-Ip").value_or(""); !ip.empty()) {
    auto canonical = core::parse_ip_address(ip);
    if (!canonical) {
      return api::response::error(
          api::errc::malformed,
          "X-Uploader-Ip must be one IPv4 or IPv6 address (no port, brackets or prefix): the "
          "uploader's address, never the requesting viewer's");
    }
    out.ip = std::move(*canonical);
  }
  if (const std::string_view at = req.header("X-Uploader-Time").value_or(""); !at.empty()) {
    auto us = core::parse_rfc3339_us(at);
    if (!us) {
      return api::response::error(api::errc::malformed,
                                  "X-Uploader-Time must be an RFC 3339 time with a zone, e.g. "
                                  "2026-12-07T10:00:00Z or 2026-12-07T11:00:00+01:00");
    }
    if (*us > hashdb::now_us() + uploader_time_skew_us) {
      return api::response::error(api::errc::malformed,
                                  "X-Uploader-Time lies in the future (more than 5 minutes "
                                  "ahead of this node's clock)");
    }
    if (*us <= 0) {
      return api::response::error(api::errc::malformed, "X-Uploader-Time lies before 1970");
    }
    out.at_us = *us;
  }
  return std::nullopt;
}

/// Refuses, before any work, the event headers that could not be stored: PostgreSQL takes
/// only UTF-8, and a refused event would be spooled and dead-lettered after a match answer.
std::optional<api::response> refused_event_headers(const api::request& req) {
  if (!core::printable_utf8(req.header("X-Zone").value_or(""))) {
    return api::response::error(api::errc::malformed,
                                "X-Zone must be UTF-8 text without control characters");
  }
  if (!source_url_truncated(req)) {
    return api::response::error(api::errc::malformed, "X-Source-Url-Truncated must be 0 or 1");
  }
  hashdb::uploader_info uploader;
  if (auto refused = read_uploader(req, uploader)) return refused;
  return std::nullopt;
}

/// Records the match event of a scan with hits and completes `out` (event_id, durability,
/// the suppressed answer). Returns the error answer to send instead, or nullopt.
std::optional<api::response> record_match(const services& deps, const api::request& req,
                                          const matcher::snapshot& snap,
                                          const std::vector<core::hit>& hits, core::action act,
                                          std::string_view zone, bool said_truncated,
                                          const recorded_content& c, json::object& out) {
  if (deps.recorder == nullptr) {
    return api::response::error(api::errc::internal, "no event recorder");
  }
  hashdb::match_event e;
  e.zone = zone.empty() ? std::string("default") : std::string(zone);
  // The URL is kept whatever its bytes: those that are not UTF-8 are written %XX. One over
  // the limit keeps its first part, cut between characters and escapes, marked truncated as
  // the cache layer marks the ones it cuts, so what is stored never claims to be whole.
  const std::string url = core::escape_invalid_utf8(req.header("X-Source-Url").value_or(""));
  const std::string_view kept = core::url_prefix(url, hashdb::max_source_url_bytes);
  e.source_url = std::string(kept);
  e.source_url_truncated = said_truncated || kept.size() < url.size();
  if (req.header("X-Request-Id")) e.request_id = req.request_id;
  // Validated before the scan (refused_event_headers): nothing is refused here.
  (void)read_uploader(req, e.uploader);
  e.node = deps.node;
  e.md5 = core::to_hex(std::span<const std::uint8_t>(c.digest.md5));
  e.sha1 = core::to_hex(std::span<const std::uint8_t>(c.digest.sha1));
  e.sha256 = core::to_hex(std::span<const std::uint8_t>(c.digest.sha256));
  e.pdq = c.pdq;
  e.pdq_quality = c.pdq_quality;
  e.phash = c.phash;
  e.act = act;
  for (const auto& h : hits) {
    hashdb::event_hit eh;
    eh.list_id = h.list_id;
    eh.entry_id = h.entry_id;
    eh.sig = h.sig;
    eh.distance = h.distance;
    eh.variant = h.variant;
    if (const auto* l = snap.find_list(h.list_id)) {
      eh.threshold = l->threshold;
      eh.list_version = l->version;
      eh.act = snap.action_of(h);
    }
    e.hits.push_back(eh);
  }
  // Suppressed content is still recorded: the sighting is provenance (which list entry
  // keeps matching dismissed content, where, how often), stored marked suppressed with no
  // case, and recording waits no longer than the commit deadline, as for any match.
  const bool suppressed = known_suppressed(deps, c.digest.sha256);
  const auto start = std::chrono::steady_clock::now();
  auto rec = deps.recorder->record(std::move(e));
  if (deps.stats) {
    deps.stats->observe_stage(api::stage::store, seconds(std::chrono::steady_clock::now() - start));
  }
  // The answer goes out only once the event is committed or spooled. When neither the
  // database nor the spool took it, the caller hears 503 and retries (same request id): a
  // match answer would claim a record that does not exist.
  if (!rec) {
    if (rec.error() == hashdb::errc::invalid_argument) return api::response::error(rec.error());
    // A no_match answer claims no record, so known suppressed content is answered anyway.
    if (suppressed) {
      answer_suppressed(deps, out);
      return std::nullopt;
    }
    return api::response::error("spool_full",
                                "the match could not be recorded (database unreachable and the "
                                "spool cannot be written); retry later",
                                deps.retry_after_s);
  }
  out["event_id"] = rec->event_id;
  out["durability"] = rec->where == hashdb::durability::committed ? "committed" : "spooled";
  // The database's word counts too: a suppression decided moments ago on another node may
  // not have reached this node's set yet, nor a confirmation that lifted one.
  if (suppressed_answer(suppressed, *rec)) {
    answer_suppressed(deps, out);
    return std::nullopt;
  }
  // Evidence preservation: matched content only, sealed off the request path. A repeated
  // request id is the first event (already handed over); suppressed content has no case.
  if (deps.preserve && rec->outcome == hashdb::record_outcome::recorded) {
    (void)deps.preserve(rec->event_id, req.body, c.media_type);
  }
  return std::nullopt;
}

api::response not_ready() {
  return api::response::error(api::errc::not_ready, "no snapshot yet");
}

api::response handle_scan(const services& deps, const api::request& req,
                          const api::auth_context& caller, bool record) {
  auto snap = deps.snapshot->load();
  if (!snap) return not_ready();
  const std::string_view zone = req.header("X-Zone").value_or("");
  const auto said_truncated = source_url_truncated(req);
  if (record) {
    if (auto refused = refused_event_headers(req)) return *refused;
  }
  // A video is hashed by its own route, in a sandboxed worker off the scan pool. An image's
  // magic bytes win: MPEG-TS is told by 0x47 at offsets 0, 188 and 376, which a GIF ("G...")
  // can carry too, and an image refused here would be an image never matched.
  const auto* data = reinterpret_cast<const std::uint8_t*>(req.body.data());  // NOLINT
  const std::span<const std::uint8_t> body(data, req.body.size());
  if (!scanner::sniff(body) && scanner::sniff_video(body)) {
    return api::response::error("use_video_route",
                                "this is a video: send it to POST /v1/scan/video");
  }
  auto& sc = thread_scanner(scan_options_of(deps));
  // Within scanner.max_scan_ms of CPU (422 scan_budget_exceeded past it, no Retry-After: the
  // input is at fault), stopped early when the scan pool is cancelled (shutdown past its drain
  // deadline: 503 scan_cancelled).
  auto scanned = sc.scan(body, api::work_pool::current_cancel_flag());
  const auto& t = sc.last_timings();
  if (deps.stats) {
    deps.stats->observe_stage(api::stage::decode, seconds(t.decode + t.digest));
    deps.stats->observe_stage(api::stage::hash, seconds(t.hash));
  }
  if (!scanned) return api::response::error(scanned.error());
  const auto& r = *scanned;

  json::object out;
  out["hashes"] = hashes_json(r);
  // Decoded only as far as the bytes went (a truncated or corrupt tail): said, as the CLI does.
  if (r.damaged) out["damaged"] = true;
  if (!record) return api::json_response(200, out);
  if (auto refused = refused_as_probe(deps, caller, r.pdq.hash, r.pdq.quality)) return *refused;

  std::vector<core::hit> hits;
  {
    const auto start = std::chrono::steady_clock::now();
    hits = match_scan(*snap, r, deps.orientations);
    if (deps.stats) {
      deps.stats->observe_stage(api::stage::match,
                                seconds(std::chrono::steady_clock::now() - start));
    }
  }
  // A padded copy whose content inside the bars is hashable is not low quality.
  const bool low_quality =
      r.pdq.quality < core::pdq_min_quality &&
      std::none_of(r.trimmed.begin(), r.trimmed.end(), [](const scanner::trimmed_hash& content) {
        return content.pdq.quality >= core::pdq_min_quality;
      });
  const core::action act = answer_hits(out, *snap, hits, caller, low_quality);

  if (!hits.empty()) {
    recorded_content c;
    c.digest = r.digest;
    c.pdq = core::to_hex(r.pdq.hash);
    c.pdq_quality = r.pdq.quality;
    c.phash = core::to_hex(r.phash);
    c.media_type = "image/" + std::string(scanner::to_string(r.format));
    if (auto failed = record_match(deps, req, *snap, hits, act, zone, *said_truncated, c, out)) {
      return *failed;
    }
  }
  return api::json_response(200, out);
}

/// The hits of a video: its file's digests against the exact lists, then the list videos of the
/// vpdq lists its frames match by the vPDQ rule (with both shares and the matched segments),
/// then each hashed frame's PDQ (upright) against the PDQ lists, in frame order; an image entry
/// keeps its first matching frame, whose timestamp its detail names.
std::vector<core::hit> match_video(const matcher::snapshot& snap, const scanner::digests& digest,
                                   const scanner::vpdq_result& video) {
  std::vector<core::hit> hits;
  matcher::scan_query file;
  file.md5 = digest.md5;
  file.sha1 = digest.sha1;
  file.sha256 = digest.sha256;
  file.query = -1;  // the whole file, no frame
  snap.match(file, hits);
  if (snap.videos() != nullptr) {
    std::vector<matcher::video_frame_hash> frames;
    frames.reserve(video.frames.size());
    for (const auto& f : video.frames) frames.push_back({f.hash, f.quality, f.timestamp});
    snap.match_video(frames, hits);
  }
  for (const auto& f : video.frames) {
    matcher::scan_query fq;
    matcher::pdq_query p;
    p.variants[0] = f.hash;
    p.variant_count = 1;
    p.quality = f.quality;
    fq.pdq = p;
    fq.query = static_cast<std::int32_t>(f.frame_number);
    std::vector<core::hit> more;
    snap.match(fq, more);
    for (auto& h : more) {
      const bool seen = std::any_of(hits.begin(), hits.end(), [&](const core::hit& old) {
        return old.list_id == h.list_id && old.entry_id == h.entry_id;
      });
      if (seen) continue;
      auto detail = std::make_shared<core::hit_detail>(h.detail ? *h.detail : core::hit_detail{});
      detail->frame_timestamp_s = f.timestamp;
      h.detail = std::move(detail);
      hits.push_back(std::move(h));
    }
  }
  return hits;
}

api::response handle_scan_video(const services& deps, const api::request& req,
                                const api::auth_context& caller) {
  auto snap = deps.snapshot->load();
  if (!snap) return not_ready();
  if (deps.video == nullptr) {
    return api::response::error(api::errc::not_implemented, "video scanning is not configured");
  }
  if (auto refused = refused_event_headers(req)) return *refused;
  const std::string_view zone = req.header("X-Zone").value_or("");
  const bool said_truncated = source_url_truncated(req).value_or(false);
  const auto* data = reinterpret_cast<const std::uint8_t*>(req.body.data());  // NOLINT
  const std::span<const std::uint8_t> bytes(data, req.body.size());
  // Sniffed here so that an image or garbage never starts a decoder process.
  auto container = scanner::sniff_video(bytes);
  if (!container) return api::response::error(container.error());
  const auto started = std::chrono::steady_clock::now();
  auto digest = scanner::digest(bytes);
  if (!digest) return api::response::error(digest.error());
  auto video = deps.video->hash(bytes, deps.video_hashing, deps.video_limits);
  if (deps.stats) {
    deps.stats->observe_stage(api::stage::hash,
                              seconds(std::chrono::steady_clock::now() - started));
  }
  if (!video) return api::response::error(video.error());

  json::object out;
  out["media"] = "video";
  json::object h;
  h["md5"] = core::to_hex(std::span<const std::uint8_t>(digest->md5));
  h["sha1"] = core::to_hex(std::span<const std::uint8_t>(digest->sha1));
  h["sha256"] = core::to_hex(std::span<const std::uint8_t>(digest->sha256));
  h["container"] = std::string(scanner::to_string(*container));
  h["codec"] = video->info.codec;
  h["width"] = video->info.width;
  h["height"] = video->info.height;
  h["frame_rate"] = video->info.frame_rate;
  out["hashes"] = std::move(h);
  const double rate = video->info.frame_rate;
  out["duration_s"] = rate > 0 ? static_cast<double>(video->info.frames_decoded) / rate
                               : video->info.declared_duration_s;
  out["frames_decoded"] = video->info.frames_decoded;
  out["frames_hashed"] = video->frames.size();
  if (video->info.damaged) out["damaged"] = true;

  std::vector<core::hit> hits;
  {
    const auto start = std::chrono::steady_clock::now();
    hits = match_video(*snap, *digest, *video);
    if (deps.stats) {
      deps.stats->observe_stage(api::stage::match,
                                seconds(std::chrono::steady_clock::now() - start));
    }
  }
  const bool hashable = std::any_of(video->frames.begin(), video->frames.end(), [](const auto& f) {
    return f.quality >= core::pdq_min_quality;
  });
  const core::action act = answer_hits(out, *snap, hits, caller, !hashable);
  if (!hits.empty()) {
    recorded_content c;
    c.digest = *digest;
    // The event's PDQ: the first frame that matched a PDQ entry (hits are in frame order).
    for (const auto& hit : hits) {
      if (hit.sig != core::signal::pdq) continue;
      for (const auto& f : video->frames) {
        if (static_cast<std::int32_t>(f.frame_number) != hit.query) continue;
        c.pdq = core::to_hex(f.hash);
        c.pdq_quality = f.quality;
        break;
      }
      break;
    }
    c.media_type = "video/" + std::string(scanner::to_string(*container));
    if (auto failed = record_match(deps, req, *snap, hits, act, zone, said_truncated, c, out)) {
      return *failed;
    }
  }
  return api::json_response(200, out);
}

api::response handle_match(const services& deps, const api::request& req,
                           const api::auth_context& caller) {
  auto body = api::parse_json_object(req);
  if (!body) return api::response::error(body.error());
  auto snap = deps.snapshot->load();
  if (!snap) return not_ready();
  // A field sent with the wrong JSON type is refused, never read as absent: a client whose
  // hash went out as a number or null would otherwise get an answer about its other fields
  // only, a no_match that never looked at that hash.
  for (std::string_view key : {"pdq", "phash", "md5", "sha1", "sha256"}) {
    if (const auto* v = body->if_contains(key); v != nullptr && !v->is_string()) {
      return api::response::error(api::errc::malformed,
                                  std::string(key) + " must be a string of hex digits");
    }
  }
  const auto* quality = body->if_contains("quality");
  if (quality != nullptr &&
      !(quality->is_int64() && quality->as_int64() >= 0 && quality->as_int64() <= 100)) {
    return api::response::error(api::errc::malformed, "quality must be an integer 0..100");
  }
  matcher::scan_query q;
  auto str = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = body->if_contains(key);
    if (v == nullptr) return std::nullopt;
    return std::string(v->as_string());
  };
  auto bad = [](std::string_view what) {
    return api::response::error(api::errc::malformed,
                                std::string("bad hex for ") + std::string(what));
  };
  if (auto s = str("pdq")) {
    auto h = core::parse_hash256(*s);
    if (!h) return bad("pdq");
    matcher::pdq_query p;
    p.variants[0] = *h;
    p.variant_count = 1;
    if (quality != nullptr) p.quality = static_cast<int>(quality->as_int64());
    q.pdq = p;
  }
  if (auto s = str("phash")) {
    auto h = core::parse_hash64(*s);
    if (!h) return bad("phash");
    q.phash = *h;
  }
  auto digest = [&](std::string_view key, std::size_t n, auto& slot) -> bool {
    auto s = str(key);
    if (!s) return true;
    auto b = core::parse_hex_bytes(*s, n);
    if (!b) return false;
    std::remove_reference_t<decltype(*slot)> arr{};
    std::copy(b->begin(), b->end(), arr.begin());
    slot = arr;
    return true;
  };
  if (!digest("md5", 16, q.md5)) return bad("md5");
  if (!digest("sha1", 20, q.sha1)) return bad("sha1");
  if (!digest("sha256", 32, q.sha256)) return bad("sha256");
  if (!q.pdq && !q.phash && !q.md5 && !q.sha1 && !q.sha256) {
    return api::response::error(api::errc::malformed,
                                "give at least one of pdq, phash, md5, sha1, sha256 (hex)");
  }
  if (q.pdq) {
    if (auto refused = refused_as_probe(deps, caller, q.pdq->variants[0], q.pdq->quality)) {
      return *refused;
    }
  }
  std::vector<core::hit> hits;
  {
    const auto start = std::chrono::steady_clock::now();
    snap->match(q, hits);
    if (deps.stats) {
      deps.stats->observe_stage(api::stage::match,
                                seconds(std::chrono::steady_clock::now() - start));
    }
  }
  json::object out;
  core::verdict v = hits.empty() ? core::verdict::no_match : core::verdict::match;
  if (hits.empty() && q.pdq && q.pdq->quality < core::pdq_min_quality) {
    v = core::verdict::low_quality;
  }
  out["verdict"] = core::to_string(v);
  out["action"] =
      core::to_string(hits.empty() ? core::action::none : strictest_action(*snap, hits));
  out["hits"] = hits_json(*snap, hits, caller);
  out["suppressed"] = false;
  out["snapshot_version"] = snap->version();
  if (!hits.empty() && q.sha256 && known_suppressed(deps, *q.sha256)) {
    answer_suppressed(deps, out);
  }
  return api::json_response(200, out);
}

api::response handle_index(const services& deps) {
  auto snap = deps.snapshot->load();
  if (!snap) return not_ready();
  json::object out;
  out["version"] = snap->version();
  json::object sizes;
  for (std::size_t i = 0; i < core::signal_names.size(); ++i) {
    sizes[core::signal_names[i]] = snap->size(static_cast<core::signal>(i));
  }
  out["sizes"] = std::move(sizes);
  out["lists"] = snap->lists().size();
  out["kernel"] = std::string(snap->kernel_used().name);
  out["build_time_ms"] = seconds(snap->build_time()) * 1000.0;
  return api::json_response(200, out);
}

}  // namespace

handler_list ingest_handlers(const services& deps) {
  handler_list out;
  out.push_back(
      {"POST", "/v1/scan", [&deps](const api::request& req, const api::auth_context& caller) {
         return handle_scan(deps, req, caller, true);
       }});
  out.push_back(
      {"POST", "/v1/scan/video", [&deps](const api::request& req, const api::auth_context& caller) {
         return handle_scan_video(deps, req, caller);
       }});
  out.push_back(
      {"POST", "/v1/hash", [&deps](const api::request& req, const api::auth_context& caller) {
         return handle_scan(deps, req, caller, false);
       }});
  out.push_back(
      {"POST", "/v1/match", [&deps](const api::request& req, const api::auth_context& caller) {
         return handle_match(deps, req, caller);
       }});
  out.push_back({"GET", "/v1/index", [&deps](const api::request&, const api::auth_context&) {
                   return handle_index(deps);
                 }});
  return out;
}

}  // namespace hashguard::handlers::detail
