#include "hashguard/hashdb/list_formats.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"

namespace hashguard::hashdb {
namespace {

constexpr std::string_view bom = "\xEF\xBB\xBF";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_hex_digit(char c) {
  return core::hex_digit_value(c) >= 0;
}

// A printable rendering of a bad value for reasons (bounded; control bytes escaped).
std::string shown(std::string_view s) {
  std::string out;
  for (char ch : s.substr(0, 80)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

line_result rejected(std::string_view code, std::string detail) {
  line_result r;
  r.kind = line_kind::rejected;
  r.reason = std::string(code) + ": " + detail;
  return r;
}

bool is_value_column(std::string_view name) {
  return name == "hash" || name == "signal" || name == "signal_value" || name == "value";
}

// Strips what every format strips: '\r', a first-line BOM.
std::string_view clean(std::string_view line, bool first) {
  if (first && line.substr(0, bom.size()) == bom) line.remove_prefix(bom.size());
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  return line;
}

}  // namespace

std::string_view to_string(list_format f) noexcept {
  switch (f) {
    case list_format::hex: return "hex";
    case list_format::te_local: return "te-local";
    case list_format::csv: return "csv";
    case list_format::hashguard: return "hashguard";
  }
  return "hex";
}

std::optional<list_format> parse_list_format(std::string_view name) noexcept {
  if (name == "hex") return list_format::hex;
  if (name == "te-local" || name == "te_local") return list_format::te_local;
  if (name == "csv") return list_format::csv;
  if (name == "hashguard") return list_format::hashguard;
  return std::nullopt;
}

std::optional<core::signal> parse_te_signal(std::string_view name) noexcept {
  if (name == "photo_md5" || name == "video_md5") return core::signal::md5;
  return core::parse_signal(name);
}

std::optional<list_format> detect_list_format(std::string_view head) noexcept {
  if (head.substr(0, bom.size()) == bom) head.remove_prefix(bom.size());
  if (head.substr(0, 18) == "# hashguard-list v") return list_format::hashguard;
  bool first = true;
  while (!head.empty()) {
    const auto nl = head.find('\n');
    std::string_view line = clean(head.substr(0, nl), first);
    first = false;
    head = nl == std::string_view::npos ? std::string_view{} : head.substr(nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    for (char c : line) {
      if (c == '\0') return std::nullopt;
    }
    if (line.find(',') != std::string_view::npos || line.find('"') != std::string_view::npos) {
      auto fields = split_csv(line);
      if (fields) {
        for (const std::string& f : *fields) {
          const std::string name = lower(trim(f));
          if (is_value_column(name)) return list_format::csv;
        }
      }
      return list_format::hex;  // "hash,entry_id"
    }
    const auto space = line.find_first_of(" \t");
    if (space != std::string_view::npos) {
      if (parse_te_signal(line.substr(0, space))) return list_format::te_local;
      return std::nullopt;
    }
    for (char c : line) {
      if (!is_hex_digit(c)) return std::nullopt;
    }
    return list_format::hex;
  }
  return std::nullopt;
}

std::optional<std::string> normalize_hash(std::string_view text, core::signal sig,
                                          std::string& reason) {
  for (char c : text) {
    if (!is_hex_digit(c)) {
      reason = std::string(reject::bad_hex) + ": '" + shown(text) + "' is not hex";
      return std::nullopt;
    }
  }
  const std::size_t want = core::signal_hex_length(sig);
  if (text.size() != want) {
    reason = std::string(reject::wrong_length) + ": " + std::to_string(text.size()) +
             " hex digits, " + std::string(core::to_string(sig)) + " needs " + std::to_string(want);
    return std::nullopt;
  }
  return lower(text);
}

std::optional<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && trim(field).empty()) {
      field.clear();
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      fields.push_back(was_quoted ? field : std::string(trim(field)));
      field.clear();
      was_quoted = false;
    } else {
      field.push_back(c);
    }
  }
  if (quoted) return std::nullopt;
  fields.push_back(was_quoted ? field : std::string(trim(field)));
  return fields;
}

std::string csv_field(std::string_view text) {
  // Unquoted fields are trimmed of " \t\r\n" when read: a field with such an end must be quoted
  // to come back as written.
  const auto trimmed = [](char c) { return c == ' ' || c == '\t'; };
  const bool needs = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (trimmed(text.front()) || trimmed(text.back())));
  if (!needs) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

line_result list_parser::value_entry(std::string_view value, list_entry entry) const {
  std::string reason;
  auto normal = normalize_hash(value, expected_, reason);
  if (!normal) {
    line_result r;
    r.kind = line_kind::rejected;
    r.reason = std::move(reason);
    return r;
  }
  entry.value = std::move(*normal);
  line_result r;
  r.kind = line_kind::entry;
  r.entry = std::move(entry);
  return r;
}

line_result list_parser::parse_line(std::string_view raw) {
  const bool first = first_line_;
  first_line_ = false;
  const std::string_view line = clean(raw, first);
  switch (format_) {
    case list_format::hex: return parse_hex(line);
    case list_format::te_local: return parse_te(line);
    case list_format::csv: return parse_csv(line);
    case list_format::hashguard: return parse_meta(line);
  }
  return {};
}

line_result list_parser::parse_hex(std::string_view line) const {
  line = trim(line);
  if (line.empty() || line.front() == '#') return {};
  list_entry entry;
  std::string_view value = line;
  if (const auto comma = line.find(','); comma != std::string_view::npos) {
    value = trim(line.substr(0, comma));
    const std::string_view id = trim(line.substr(comma + 1));
    if (id.find(',') != std::string_view::npos) {
      return rejected(reject::bad_field, "more than two comma-separated fields");
    }
    entry.external_id = std::string(id);
  }
  return value_entry(value, std::move(entry));
}

line_result list_parser::parse_te(std::string_view line) const {
  line = trim(line);
  if (line.empty() || line.front() == '#') return {};
  const auto space = line.find_first_of(" \t");
  if (space == std::string_view::npos) {
    return rejected(reject::bad_field, "expected 'signal_type signal', got '" + shown(line) + "'");
  }
  const std::string_view type = line.substr(0, space);
  std::string_view rest = trim(line.substr(space));
  const auto sig = parse_te_signal(type);
  if (!sig) return rejected(reject::unknown_signal, "'" + shown(type) + "'");
  if (*sig != expected_) {
    return rejected(reject::signal_mismatch, "a " + std::string(core::to_string(*sig)) +
                                                 " hash in a " +
                                                 std::string(core::to_string(expected_)) + " list");
  }
  list_entry entry;
  std::string_view value = rest;
  if (const auto sp = rest.find_first_of(" \t"); sp != std::string_view::npos) {
    value = rest.substr(0, sp);
    entry.external_id = std::string(trim(rest.substr(sp)));
  }
  return value_entry(value, std::move(entry));
}

line_result list_parser::parse_csv(std::string_view line) {
  if (trim(line).empty()) return {};
  if (!have_columns_ && trim(line).front() == '#') return {};
  auto fields = split_csv(line);
  if (!fields) return rejected(reject::bad_field, "unterminated quoted field");
  if (!have_columns_) {
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const std::string name = lower((*fields)[i]);
      const int at = static_cast<int>(i);
      if (is_value_column(name) && col_value_ < 0) col_value_ = at;
      if ((name == "id" || name == "entry_id") && col_id_ < 0) col_id_ = at;
      if (name == "quality" && col_quality_ < 0) col_quality_ = at;
      if (name == "note" && col_note_ < 0) col_note_ = at;
      if (name == "signal_type" && col_type_ < 0) col_type_ = at;
    }
    if (col_value_ < 0) {
      return rejected(reject::no_header, "the header row names no hash or signal column");
    }
    have_columns_ = true;
    return {};
  }
  auto field = [&](int col) -> std::string_view {
    if (col < 0 || static_cast<std::size_t>(col) >= fields->size()) return {};
    return (*fields)[static_cast<std::size_t>(col)];
  };
  if (static_cast<std::size_t>(col_value_) >= fields->size()) {
    return rejected(reject::bad_field, "the row has no hash field");
  }
  if (col_type_ >= 0) {
    const std::string_view type = field(col_type_);
    const auto sig = parse_te_signal(type);
    if (!sig) return rejected(reject::unknown_signal, "'" + shown(type) + "'");
    if (*sig != expected_) {
      return rejected(reject::signal_mismatch,
                      "a " + std::string(core::to_string(*sig)) + " hash in a " +
                          std::string(core::to_string(expected_)) + " list");
    }
  }
  list_entry entry;
  entry.external_id = std::string(field(col_id_));
  entry.note = std::string(field(col_note_));
  if (const std::string_view q = field(col_quality_); !q.empty()) {
    const auto quality = core::parse_int(q, 0, 100);
    if (!quality) {
      return rejected(reject::bad_quality, "'" + shown(q) + "' is not an integer 0..100");
    }
    entry.quality = *quality;
  }
  return value_entry(field(col_value_), std::move(entry));
}

line_result list_parser::parse_meta(std::string_view line) {
  if (!in_header_) return parse_csv(line);
  const std::string_view t = trim(line);
  if (t.empty()) return {};
  if (!meta_) {
    if (t.substr(0, 18) != "# hashguard-list v") {
      in_header_ = false;
      return rejected(reject::bad_metadata, "missing '# hashguard-list v1' header");
    }
    if (t != "# hashguard-list v1") {
      in_header_ = false;
      return rejected(reject::bad_metadata, "unsupported version '" + shown(t) + "'");
    }
    meta_.emplace();
    meta_->sig = expected_;
    return {};
  }
  if (t.front() != '#') {
    in_header_ = false;
    return parse_csv(line);
  }
  const std::string_view body = trim(t.substr(1));
  const auto colon = body.find(':');
  if (colon == std::string_view::npos) return {};  // a plain comment
  const std::string key = lower(trim(body.substr(0, colon)));
  const std::string_view value = trim(body.substr(colon + 1));
  auto bad = [&] {
    return rejected(reject::bad_metadata, "bad " + key + " '" + shown(value) + "'");
  };
  if (key == "name") {
    meta_->name = std::string(value);
  } else if (key == "source") {
    meta_->source = std::string(value);
  } else if (key == "signal") {
    const auto sig = core::parse_signal(value);
    if (!sig) return rejected(reject::unknown_signal, "'" + shown(value) + "'");
    if (*sig != expected_) {
      return rejected(reject::signal_mismatch, "the file holds " + std::string(value) +
                                                   " hashes, the list is " +
                                                   std::string(core::to_string(expected_)));
    }
    meta_->sig = *sig;
  } else if (key == "threshold") {
    const auto v = core::parse_int(value, 0, 256);
    if (!v) return bad();
    meta_->threshold = *v;
  } else if (key == "review_threshold") {
    const auto v = core::parse_int(value, 0, 256);
    if (!v) return bad();
    meta_->review_threshold = *v;
  } else if (key == "action") {
    const auto a = core::parse_action(value);
    if (!a) return bad();
    meta_->act = *a;
  } else if (key == "dihedral") {
    if (value != "true" && value != "false") return bad();
    meta_->dihedral = value == "true";
  } else if (key == "version" || key == "entries") {
    const auto v = core::parse_int<std::int64_t>(value);
    if (!v) return bad();
    (key == "version" ? meta_->version : meta_->entries) = *v;
  }
  // Unknown keys are ignored: newer writers may add metadata.
  return {};
}

std::string hashguard_header(const list_metadata& meta) {
  std::string out = "# hashguard-list v1\n";
  out += "# name: " + meta.name + "\n";
  out += "# source: " + meta.source + "\n";
  out += "# signal: " + std::string(core::to_string(meta.sig)) + "\n";
  out += "# threshold: " + std::to_string(meta.threshold) + "\n";
  if (meta.review_threshold) {
    out += "# review_threshold: " + std::to_string(*meta.review_threshold) + "\n";
  }
  out += "# action: " + std::string(core::to_string(meta.act)) + "\n";
  out += std::string("# dihedral: ") + (meta.dihedral ? "true" : "false") + "\n";
  out += "# version: " + std::to_string(meta.version) + "\n";
  out += "# entries: " + std::to_string(meta.entries) + "\n";
  out += "hash,id,quality,note\n";
  return out;
}

std::string format_header(list_format format, const list_metadata& meta) {
  switch (format) {
    case list_format::hex:
      return "# hashguard list " + meta.name + " (" + std::string(core::to_string(meta.sig)) +
             "), version " + std::to_string(meta.version) + "\n";
    case list_format::te_local: return {};
    case list_format::csv: return "hash,id,quality,note\n";
    case list_format::hashguard: return hashguard_header(meta);
  }
  return {};
}

std::string format_entry(list_format format, core::signal sig, const list_entry& e) {
  switch (format) {
    case list_format::hex:
      return e.external_id.empty() ? e.value + "\n" : e.value + "," + e.external_id + "\n";
    case list_format::te_local: {
      std::string out = std::string(core::to_string(sig)) + " " + e.value;
      if (!e.external_id.empty()) out += " " + e.external_id;
      return out + "\n";
    }
    case list_format::csv:
    case list_format::hashguard:
      return e.value + "," + csv_field(e.external_id) + "," +
             (e.quality ? std::to_string(*e.quality) : std::string()) + "," + csv_field(e.note) +
             "\n";
  }
  return {};
}

}  // namespace hashguard::hashdb
