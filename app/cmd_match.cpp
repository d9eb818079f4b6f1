// hashguard match --list FILE [--list FILE...] [--signal S] [--radius R] [HEX...]
//
// Loads each FILE (one hex hash per line; blank lines and '#' comments skipped) as a list of
// the given signal, builds one index snapshot, and matches every HEX argument, or every line
// of stdin when there is none. Prints one JSON object per hit (DESIGN.md section 9):
//   {"query","list","entry","signal","distance"}
// where list is the FILE as given and entry its 1-based line number. A query that does not
// parse prints {"query","error":{"code","message"}} instead. A summary (entries, kernel, MIH
// layout) goes to stderr. Exit: 0 all queries matched (hits or not), 1 a list could not be
// loaded or a query was malformed, 2 usage.
//
// --signal vpdq: each FILE is a vPDQ video file (core/vpdq_text.hpp: the reference's one-video
// file, named by its file name, or the multi-video form) and each query a video file, hashed
// in the sandboxed worker at --seconds-per-hash (default 1), or a vPDQ text file. The rule of
// matcher/vpdq_match.hpp decides (frame distance --radius, default 31 inclusive; shares
// --video-query-percent 80 and --video-compared-percent 0). One JSON object per matched list
// video: {"query","list","video","entry","signal","distance","query_match_percent",
// "compared_match_percent","segments":[{"start_s","end_s"}]}, entry its position in FILE.
#include "cmd_hash_video.hpp"
#include "commands.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/matcher/kernel.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace hashguard::app {
namespace {

constexpr const char* match_usage =
    "usage: hashguard match --list FILE [--list FILE...] [--signal pdq|phash|md5|sha1|sha256]\n"
    "                       [--radius R] [HEX...]\n"
    "  FILE holds one hex hash per line. Without HEX arguments the queries are read from stdin,\n"
    "  one per line. --radius is the largest Hamming distance that matches (default 31 for pdq,\n"
    "  10 for phash; digests match exactly). Prints one JSON object per hit.\n"
    "  --signal vpdq: FILE is a vPDQ file (one video, or the multi-video form), each query a\n"
    "  video file or vPDQ text file; [--seconds-per-hash S] [--video-query-percent P]\n"
    "  [--video-compared-percent P] (defaults 1, 80, 0).\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

void print_error(std::string_view query, const core::error_code& ec) {
  boost::json::object o;
  o["query"] = query;
  o["error"] = {{"code", core::error_name(ec)}, {"message", core::error_message(ec)}};
  std::cout << boost::json::serialize(o) << '\n';
}

// Fills the scan query for one hex text of the given signal.
core::result<matcher::scan_query> make_query(std::string_view hex, core::signal sig) {
  matcher::scan_query q;
  switch (sig) {
    case core::signal::pdq: {
      auto h = core::parse_hash256(hex);
      if (!h) return h.error();
      q.pdq = matcher::pdq_query{};
      q.pdq->variants[0] = *h;
      q.pdq->variant_count = 1;
      q.pdq->quality = 100;  // a bare hash carries no quality: take it as usable
      return q;
    }
    case core::signal::phash: {
      auto h = core::parse_hash64(hex);
      if (!h) return h.error();
      q.phash = *h;
      return q;
    }
    default: {
      auto bytes = core::parse_hex_bytes(hex, core::signal_hex_length(sig) / 2);
      if (!bytes) return bytes.error();
      if (sig == core::signal::md5) {
        q.md5.emplace();
        std::copy(bytes->begin(), bytes->end(), q.md5->begin());
      } else if (sig == core::signal::sha1) {
        q.sha1.emplace();
        std::copy(bytes->begin(), bytes->end(), q.sha1->begin());
      } else {
        q.sha256.emplace();
        std::copy(bytes->begin(), bytes->end(), q.sha256->begin());
      }
      return q;
    }
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct video_match_options {
  int radius{31};
  double query_percent{80.0};
  double compared_percent{0.0};
  double seconds_per_hash{1.0};
};

/// --signal vpdq (see the file's comment).
int match_videos(const std::vector<std::string>& lists, const std::vector<std::string>& queries,
                 const video_match_options& options) {
  matcher::snapshot_builder builder;
  std::size_t videos = 0;
  for (std::size_t l = 0; l < lists.size(); ++l) {
    const auto list_id = static_cast<std::int64_t>(l + 1);
    matcher::list_info info;
    info.id = list_id;
    info.name = lists[l];
    info.sig = core::signal::vpdq;
    info.threshold = options.radius;
    info.video_query_percent = options.query_percent;
    info.video_compared_percent = options.compared_percent;
    if (auto added = builder.add_list(info); !added) {
      std::cerr << "hashguard match: " << core::error_message(added.error()) << "\n";
      return exit_usage;
    }
    if (!std::filesystem::is_regular_file(lists[l])) {
      std::cerr << "hashguard match: cannot read " << lists[l] << "\n";
      return exit_failure;
    }
    const auto parsed = core::parse_vpdq_videos(read_text(lists[l]),
                                                std::filesystem::path(lists[l]).stem().string());
    std::int64_t entry = 0;
    for (const auto& v : parsed) {
      ++entry;
      if (v.error_line) {
        std::cerr << "hashguard match: " << lists[l] << ":" << *v.error_line << ": " << v.error
                  << "\n";
        return exit_failure;
      }
      std::vector<matcher::video_frame_hash> frames;
      for (const auto& f : v.frames) frames.push_back({f.hash, f.quality, f.timestamp});
      if (auto added = builder.add_video(list_id, entry, v.name, std::move(frames)); !added) {
        std::cerr << "hashguard match: " << core::error_message(added.error()) << "\n";
        return exit_failure;
      }
      ++videos;
    }
  }
  auto built = builder.build();
  if (!built) {
    std::cerr << "hashguard match: " << core::error_name(built.error()) << "\n";
    return exit_failure;
  }
  const matcher::snapshot& snap = **built;
  std::cerr << "hashguard match: " << videos << " videos, "
            << (snap.videos() != nullptr ? snap.videos()->frame_count() : 0) << " kept frames in "
            << lists.size() << " list(s), frame distance <= " << options.radius << ", shares "
            << options.query_percent << " % / " << options.compared_percent << " %\n";
  bool failed = false;
  for (const auto& q : queries) {
    // A vPDQ text file is taken as hashed; anything else is a video for the worker.
    std::optional<std::vector<core::vpdq_frame>> frames;
    const auto text = core::parse_vpdq_videos(read_text(q), q);
    if (text.size() == 1 && !text[0].error_line) {
      frames = text[0].frames;
    } else {
      std::string error;
      frames = hash_video_frames(q, {options.seconds_per_hash, 0}, error);
      if (!frames) {
        boost::json::object o;
        o["query"] = q;
        const auto colon = error.find(": ");
        o["error"] = {{"code", error.substr(0, colon)},
                      {"message", colon == std::string::npos ? "" : error.substr(colon + 2)}};
        std::cout << boost::json::serialize(o) << '\n';
        failed = true;
        continue;
      }
    }
    std::vector<matcher::video_frame_hash> query;
    for (const auto& f : *frames) query.push_back({f.hash, f.quality, f.timestamp});
    std::vector<core::hit> hits;
    snap.match_video(query, hits);
    for (const auto& h : hits) {
      const matcher::list_info* list = snap.find_list(h.list_id);
      boost::json::object o;
      o["query"] = q;
      o["list"] = list != nullptr ? list->name : std::to_string(h.list_id);
      o["video"] = h.detail->video->list_video;
      o["entry"] = h.entry_id;
      o["signal"] = core::to_string(h.sig);
      o["distance"] = h.distance;
      o["query_match_percent"] = h.detail->video->query_match_percent;
      o["compared_match_percent"] = h.detail->video->compared_match_percent;
      boost::json::array segments;
      for (const auto& s : h.detail->video->segments) {
        segments.push_back({{"start_s", s.start_s}, {"end_s", s.end_s}});
      }
      o["segments"] = std::move(segments);
      std::cout << boost::json::serialize(o) << '\n';
    }
  }
  std::cout.flush();
  return failed ? exit_failure : exit_ok;
}

}  // namespace

int run_match(const std::vector<std::string>& args) {
  std::vector<std::string> lists;
  std::vector<std::string> queries;
  core::signal sig = core::signal::pdq;
  std::optional<int> radius;
  video_match_options video;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << match_usage;
      return exit_ok;
    } else if (a == "--list") {
      auto v = value();
      if (!v) break;
      lists.push_back(*v);
    } else if (a == "--signal") {
      auto v = value();
      auto parsed = v ? core::parse_signal(*v) : std::nullopt;
      if (!parsed) {
        std::cerr << "hashguard match: --signal needs one of pdq, phash, md5, sha1, sha256, vpdq\n";
        return exit_usage;
      }
      sig = *parsed;
    } else if (a == "--seconds-per-hash" || a == "--video-query-percent" ||
               a == "--video-compared-percent") {
      const auto v = value();
      char* end = nullptr;
      const double d = v ? std::strtod(v->c_str(), &end) : -1.0;
      if (!v || v->empty() || *end != '\0' || !(d >= 0.0) || d > 100.0) {
        std::cerr << "hashguard match: " << a << " needs a number 0..100\n";
        return exit_usage;
      }
      (a == "--seconds-per-hash"      ? video.seconds_per_hash
       : a == "--video-query-percent" ? video.query_percent
                                      : video.compared_percent) = d;
    } else if (a == "--radius") {
      auto v = value();
      const auto r = core::parse_int<int>(v.value_or(""), 0);
      if (!r) {
        std::cerr << "hashguard match: --radius needs a non-negative integer\n";
        return exit_usage;
      }
      radius = *r;
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "hashguard match: unknown option '" << a << "'\n" << match_usage;
      return exit_usage;
    } else {
      queries.push_back(a);
    }
  }
  if (lists.empty()) {
    std::cerr << "hashguard match: --list FILE is required\n" << match_usage;
    return exit_usage;
  }
  if (sig == core::signal::vpdq) {
    if (queries.empty()) {
      std::cerr << "hashguard match: --signal vpdq needs the query files as arguments\n";
      return exit_usage;
    }
    video.radius = radius.value_or(31);
    return match_videos(lists, queries, video);
  }
  const int threshold = !core::is_perceptual(sig)  ? 0
                        : radius                   ? *radius
                        : sig == core::signal::pdq ? 31
                                                   : 10;

  matcher::snapshot_builder builder;
  std::size_t entries = 0;
  for (std::size_t l = 0; l < lists.size(); ++l) {
    const auto list_id = static_cast<std::int64_t>(l + 1);
    matcher::list_info info;
    info.id = list_id;
    info.name = lists[l];
    info.sig = sig;
    info.threshold = threshold;
    if (auto added = builder.add_list(info); !added) {
      std::cerr << "hashguard match: " << lists[l] << ": " << core::error_message(added.error())
                << "\n";
      return exit_usage;
    }
    std::ifstream in(lists[l]);
    if (!in) {
      std::cerr << "hashguard match: cannot read " << lists[l] << "\n";
      return exit_failure;
    }
    std::int64_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      const std::string_view text = trim(line);
      if (text.empty() || text.front() == '#') continue;
      if (auto added = builder.add_hex(list_id, line_no, text); !added) {
        std::cerr << "hashguard match: " << lists[l] << ":" << line_no << ": "
                  << core::error_name(added.error()) << ": " << core::error_message(added.error())
                  << "\n";
        return exit_failure;
      }
      ++entries;
    }
  }
  auto built = builder.build();
  if (!built) {
    std::cerr << "hashguard match: " << core::error_name(built.error()) << ": "
              << core::error_message(built.error()) << " (HG_FORCE_KERNEL)\n";
    return exit_failure;
  }
  const matcher::snapshot& snap = **built;
  std::cerr << "hashguard match: " << entries << " entries in " << lists.size() << " list(s), "
            << core::to_string(sig) << " threshold " << threshold << ", kernel "
            << snap.kernel_used().name;
  if (sig == core::signal::pdq) {
    std::cerr << ", MIH " << snap.pdq_index().slot_count() << " slots up to radius "
              << snap.pdq_index().max_radius();
  }
  std::cerr << "\n";

  bool malformed = false;
  std::vector<core::hit> hits;
  const auto match_one = [&](std::string_view raw) {
    const std::string_view text = trim(raw);
    if (text.empty()) return;
    auto q = make_query(text, sig);
    if (!q) {
      print_error(text, q.error());
      malformed = true;
      return;
    }
    hits.clear();
    snap.match(*q, hits);
    for (const core::hit& h : hits) {
      const matcher::list_info* list = snap.find_list(h.list_id);
      boost::json::object o;
      o["query"] = text;
      o["list"] = list != nullptr ? list->name : std::to_string(h.list_id);
      o["entry"] = h.entry_id;
      o["signal"] = core::to_string(h.sig);
      o["distance"] = h.distance;
      std::cout << boost::json::serialize(o) << '\n';
    }
  };
  if (queries.empty()) {
    for (std::string line; std::getline(std::cin, line);) match_one(line);
  } else {
    for (const std::string& q : queries) match_one(q);
  }
  std::cout.flush();
  return malformed ? exit_failure : exit_ok;
}

}  // namespace hashguard::app
