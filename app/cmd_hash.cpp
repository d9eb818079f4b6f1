// hashguard hash [--format=table|jsonl] [--mode=fullres|reference-512] [--threads N] FILE|DIR...
// hashguard hash --format=vpdq [--seconds-per-hash S] [--downsample N] VIDEO (cmd_hash_video.hpp)
//
// Hashes every FILE, and every file under each DIR (walked recursively, in sorted order), with
// scanner::image_scanner, one per worker thread; results are printed in input order.
// --format=jsonl prints DESIGN.md section 9's object per input:
//   {"path","width","height","pdq","quality","dihedral":{"rot90",...,"flipminus1"},"phash",
//    "md5","sha1","sha256"}  (+ "frames":[{"index","pdq","quality"}...] for animated images,
//    + "damaged":true for a file the decoder read only in part, e.g. a cut-off JPEG;
//    + with --query-hashes, "query":{"orientations":{"original",...},"trimmed":[{"top",
//    "bottom","left","right","pdq","quality","dihedral","orientations"}...]}: the match-only
//    hashes, for evaluation; "trimmed" has one object per candidate layout of the bars)
// or {"path","error":{"code","message"}} for an input that could not be hashed. The default is
// a table for people. A progress bar goes to stderr when stderr is a terminal.
// Exit: 0 when every input was processed (errors included), 2 for usage errors.
#include "cmd_hash_video.hpp"
#include "commands.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/scan.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace hashguard::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* hash_usage =
    "usage: hashguard hash [--format=table|jsonl] [--mode=fullres|reference-512] [--threads N]\n"
    "                      FILE|DIR...\n"
    "  Hashes images (JPEG, PNG, GIF, WebP, BMP, TIFF: the format comes from the bytes) with\n"
    "  PDQ (+ quality and the 7 other dihedral hashes), pHash, MD5, SHA-1 and SHA-256.\n"
    "  Directories are walked recursively in sorted order. Output is in input order.\n"
    "  --format   table (default, for people) or jsonl (one JSON object per input)\n"
    "  --mode     fullres (default: PDQ on the full image, as HMA hashes) or reference-512\n"
    "             (the reference CLI's 512x512 nearest-neighbour pre-resize)\n"
    "  --threads  worker threads (default: all cores)\n"
    "  --query-hashes  jsonl also carries \"query\": the match-only hashes serve searches with\n"
    "             (the 8 pixel-level orientation hashes, and the content inside borders and\n"
    "             letterbox bars with its own orientations), for evaluation\n"
    "  --format=vpdq VIDEO: the video's vPDQ (MP4/MOV, Matroska/WebM, AVI, MPEG-TS) as\n"
    "             frame,quality,pdq,timestamp lines, the ThreatExchange reference's format\n"
    "  --seconds-per-hash S  with vpdq: one frame per S seconds (default 1; 0 = every frame)\n"
    "  --downsample N        with vpdq: scale frames to NxN before hashing (default: native)\n"
    "  --scanner-max-pixels N, --scanner-max-bytes N, --scanner-max-frames N, ...: the scanner's\n"
    "             limits (also HG_SCANNER_* variables; `hashguard hash --help-config` lists "
    "them)\n";

enum class output_format { table, jsonl, vpdq };

struct options {
  output_format format{output_format::table};
  std::optional<scanner::pdq_mode> mode;  // --mode, over scanner.pdq_mode
  unsigned threads{};
  std::vector<std::string> inputs;
  std::vector<std::string> config_flags;  // --scanner-* for core::config
  bool help_config{};
  bool query_hashes{};  // --query-hashes
  vpdq_cli_options vpdq;
};

// One input's outcome: a scan result, or an error (scanner's, or the file system's).
struct outcome {
  std::string path;
  std::optional<scanner::scan_result> result;
  std::string error_code;
  std::string error_message;
};

std::optional<std::string> option_value(const std::vector<std::string>& args, std::size_t& i,
                                        std::string_view name) {
  const std::string& a = args[i];
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    return a.substr(name.size() + 1);
  }
  if (a == name && i + 1 < args.size()) return args[++i];
  return std::nullopt;
}

bool starts_with_option(const std::string& a, std::string_view name) {
  return a == name ||
         (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=');
}

// Parses the arguments; nullopt after printing a usage error (or the help, with `help` set).
std::optional<options> parse(const std::vector<std::string>& args, bool& help) {
  options o;
  bool only_inputs = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_inputs || a.empty() || a[0] != '-' || a == "-") {
      o.inputs.push_back(a);
    } else if (a == "--") {
      only_inputs = true;
    } else if (a == "--help" || a == "-h") {
      help = true;
      return std::nullopt;
    } else if (a == "--help-config") {
      o.help_config = true;
    } else if (a == "--query-hashes") {
      o.query_hashes = true;
    } else if (a.rfind("--scanner", 0) == 0) {
      o.config_flags.push_back(a);
      if (a.find('=') == std::string::npos && i + 1 < args.size())
        o.config_flags.push_back(args[++i]);
    } else if (starts_with_option(a, "--format")) {
      const auto v = option_value(args, i, "--format");
      if (v == "jsonl") {
        o.format = output_format::jsonl;
      } else if (v == "table") {
        o.format = output_format::table;
      } else if (v == "vpdq") {
        o.format = output_format::vpdq;
      } else {
        std::cerr << "hashguard hash: --format must be table, jsonl or vpdq\n";
        return std::nullopt;
      }
    } else if (starts_with_option(a, "--mode")) {
      const auto v = option_value(args, i, "--mode");
      if (v == "fullres") {
        o.mode = scanner::pdq_mode::fullres;
      } else if (v == "reference-512") {
        o.mode = scanner::pdq_mode::reference_512;
      } else {
        std::cerr << "hashguard hash: --mode must be fullres or reference-512\n";
        return std::nullopt;
      }
    } else if (starts_with_option(a, "--seconds-per-hash")) {
      const std::string text = option_value(args, i, "--seconds-per-hash").value_or("");
      double v = -1.0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size() || !(v >= 0.0) || v > 3600.0) {
        std::cerr << "hashguard hash: --seconds-per-hash needs a number from 0 to 3600\n";
        return std::nullopt;
      }
      o.vpdq.seconds_per_hash = v;
    } else if (starts_with_option(a, "--downsample")) {
      const auto v = option_value(args, i, "--downsample");
      const auto n = core::parse_int<std::uint32_t>(v.value_or(""), 0, 4096);
      if (!n || *n == 1 || *n == 2 || *n == 3 || *n == 4) {
        std::cerr << "hashguard hash: --downsample needs 0 (native) or a size from 5 to 4096\n";
        return std::nullopt;
      }
      o.vpdq.downsample = *n;
    } else if (starts_with_option(a, "--threads")) {
      const auto v = option_value(args, i, "--threads");
      const auto n = core::parse_int<unsigned>(v.value_or(""), 1, 1024);
      if (!n) {
        std::cerr << "hashguard hash: --threads needs a whole number from 1 to 1024\n";
        return std::nullopt;
      }
      o.threads = *n;
    } else {
      std::cerr << "hashguard hash: unknown option '" << a << "'\n";
      return std::nullopt;
    }
  }
  if (o.inputs.empty() && !o.help_config) {
    std::cerr << "hashguard hash: no FILE or DIR given\n";
    return std::nullopt;
  }
  if (o.format == output_format::vpdq && o.inputs.size() != 1) {
    std::cerr << "hashguard hash: --format=vpdq takes one video file (one video per output)\n";
    return std::nullopt;
  }
  return o;
}

// Files in argument order; each directory contributes its files, recursively, sorted by path.
std::vector<std::string> expand(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!fs::is_directory(input, ec)) {
      files.push_back(input);  // a missing file is reported as that input's error
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(input, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

outcome hash_one(scanner::image_scanner& scanner, const std::string& path) {
  outcome out;
  out.path = path;
  const auto fail = [&](std::string code, std::string message) {
    out.error_code = std::move(code);
    out.error_message = std::move(message);
    return out;
  };
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return fail("not_found", "no such file");
  if (!fs::is_regular_file(status)) return fail("not_a_file", "not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) return fail("read_failed", ec.message());
  // Refuse an oversized file before reading it, as the scanner would after.
  if (size > scanner.options().limits.max_bytes) {
    const core::error_code too_large = scanner::errc::too_large;
    return fail(core::error_name(too_large), core::error_message(too_large));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    return fail("read_failed", std::strerror(errno));
  }
  auto r = scanner.scan(bytes);
  if (!r) return fail(core::error_name(r.error()), core::error_message(r.error()));
  out.result = std::move(*r);
  return out;
}

boost::json::object orientations_json(const scanner::orientation_hashes& h) {
  boost::json::object out;
  for (std::size_t d = 0; d < core::dihedral_names.size(); ++d) {
    out[core::dihedral_names[d]] = core::to_hex(h[d]);
  }
  return out;
}

// The match-only hashes (--query-hashes): only present when asked for.
boost::json::object query_json(const scanner::scan_result& r) {
  boost::json::object q;
  q["orientations"] = orientations_json(r.orientations);
  // Each candidate layout of the bars (trim.hpp find_candidates), the detected one first.
  boost::json::array trimmed;
  for (const auto& t : r.trimmed) {
    trimmed.push_back({{"top", t.sides.top},
                       {"bottom", t.sides.bottom},
                       {"left", t.sides.left},
                       {"right", t.sides.right},
                       {"pdq", core::to_hex(t.pdq.hash)},
                       {"quality", t.pdq.quality},
                       {"dihedral", orientations_json(t.pdq.dihedral)},
                       {"orientations", orientations_json(t.orientations)}});
  }
  if (!trimmed.empty()) q["trimmed"] = std::move(trimmed);
  return q;
}

std::string to_jsonl(const outcome& o, bool query_hashes) {
  boost::json::object obj;
  obj["path"] = o.path;
  if (!o.result) {
    obj["error"] = {{"code", o.error_code}, {"message", o.error_message}};
    return boost::json::serialize(obj);
  }
  const scanner::scan_result& r = *o.result;
  obj["width"] = r.width;
  obj["height"] = r.height;
  obj["pdq"] = core::to_hex(r.pdq.hash);
  obj["quality"] = r.pdq.quality;
  boost::json::object dihedral;
  for (std::size_t d = 1; d < core::dihedral_names.size(); ++d) {
    dihedral[core::dihedral_names[d]] = core::to_hex(r.pdq.dihedral[d]);
  }
  obj["dihedral"] = std::move(dihedral);
  obj["phash"] = core::to_hex(r.phash);
  obj["md5"] = core::to_hex(r.digest.md5);
  obj["sha1"] = core::to_hex(r.digest.sha1);
  obj["sha256"] = core::to_hex(r.digest.sha256);
  if (r.animated()) {
    boost::json::array frames;
    for (const scanner::frame_hash& f : r.frames) {
      frames.push_back(
          {{"index", f.index}, {"pdq", core::to_hex(f.pdq.hash)}, {"quality", f.pdq.quality}});
    }
    obj["frames"] = std::move(frames);
  }
  // Only when set, so an intact image's object is unchanged.
  if (r.damaged) obj["damaged"] = true;
  if (query_hashes) obj["query"] = query_json(r);
  return boost::json::serialize(obj);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string to_table_row(const outcome& o, std::size_t path_width) {
  std::ostringstream line;
  line << pad(o.path, path_width) << "  ";
  if (!o.result) {
    line << "error: " << o.error_code << " (" << o.error_message << ")";
    return line.str();
  }
  const scanner::scan_result& r = *o.result;
  line << pad(std::to_string(r.width) + "x" + std::to_string(r.height), 11) << "  "
       << pad(std::string(scanner::to_string(r.format)), 4) << "  "
       << pad(std::to_string(r.pdq.quality), 3) << "  " << core::to_hex(r.pdq.hash) << "  "
       << core::to_hex(r.phash);
  for (std::size_t i = 1; i < r.frames.size(); ++i) {
    line << "\n"
         << pad("  frame " + std::to_string(r.frames[i].index), path_width) << "  " << pad("", 11)
         << "  " << pad("", 4) << "  " << pad(std::to_string(r.frames[i].pdq.quality), 3) << "  "
         << core::to_hex(r.frames[i].pdq.hash);
  }
  return line.str();
}

class progress_bar {
 public:
  explicit progress_bar(std::size_t total) : total_(total), on_(isatty(STDERR_FILENO) == 1) {}
  void draw(std::size_t done) const {
    if (!on_) return;
    constexpr std::size_t width = 30;
    const std::size_t filled = total_ == 0 ? width : done * width / total_;
    std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
              << done << "/" << total_ << std::flush;
  }
  void clear() const {
    if (on_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  std::size_t total_;
  bool on_;
};

}  // namespace

int run_hash(const std::vector<std::string>& args) {
  bool help = false;
  const auto parsed = parse(args, help);
  if (!parsed) {
    if (help) {
      std::cout << hash_usage;
      return exit_ok;
    }
    std::cerr << hash_usage;
    return exit_usage;
  }
  const options& opt = *parsed;
  if (opt.format == output_format::vpdq) return hash_video_file(opt.inputs.front(), opt.vpdq);

  // The scanner's limits: defaults < HG_SCANNER_* environment < --scanner-* flags.
  core::config cfg;
  scanner::declare_config(cfg);
  if (opt.help_config) {
    const std::string text = cfg.describe();
    std::cout << text << (text.ends_with('\n') ? "" : "\n");
    return exit_ok;
  }
  if (auto r = cfg.load_environment(environ); !r) {
    std::cerr << "hashguard hash: environment: " << core::error_message(r.error()) << "\n";
    return exit_usage;
  }
  const auto rest = cfg.apply_flags(opt.config_flags);
  auto configured = rest ? scanner::scan_options_from(cfg) : rest.error();
  if (!rest || !rest->empty() || !configured) {
    std::cerr << "hashguard hash: bad scanner option in";
    for (const std::string& f : opt.config_flags) std::cerr << " " << f;
    std::cerr << "\n" << hash_usage;
    return exit_usage;
  }
  scanner::scan_options scan_options = *configured;
  if (opt.mode) scan_options.mode = *opt.mode;
  scan_options.orientations = opt.query_hashes;
  scan_options.trim = opt.query_hashes;
  const std::vector<std::string> files = expand(opt.inputs);
  unsigned threads =
      opt.threads != 0 ? opt.threads : std::max(1U, std::thread::hardware_concurrency());
  threads =
      static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(files.size(), 1)));

  // Workers take the next input index; the main thread prints results in input order as they
  // complete.
  std::vector<std::optional<outcome>> slots(files.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      scanner::image_scanner scanner(scan_options);
      for (std::size_t i = next++; i < files.size(); i = next++) {
        outcome o = hash_one(scanner, files[i]);
        const std::lock_guard lock(mutex);
        slots[i] = std::move(o);
        ready.notify_all();
      }
    });
  }

  std::size_t path_width = 4;
  for (const std::string& f : files) path_width = std::max(path_width, f.size());
  if (opt.format == output_format::table) {
    std::cout << pad("PATH", path_width) << "  " << pad("SIZE", 11) << "  FMT   Q    "
              << pad("PDQ", 64) << "  PHASH\n";
  }
  const progress_bar bar(files.size());
  bar.draw(0);
  for (std::size_t i = 0; i < files.size(); ++i) {
    outcome o;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return slots[i].has_value(); });
      o = std::move(*slots[i]);
      slots[i].reset();
    }
    bar.clear();
    std::cout << (opt.format == output_format::jsonl ? to_jsonl(o, opt.query_hashes)
                                                     : to_table_row(o, path_width))
              << '\n'
              << std::flush;
    bar.draw(i + 1);
  }
  bar.clear();
  for (std::thread& w : workers) w.join();
  return exit_ok;
}

}  // namespace hashguard::app
