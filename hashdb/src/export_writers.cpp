// The pure export generators: CSV, JSON, CyberTipline XML and the tar package. No database.
#include "crypto.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/export.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace hashguard::hashdb {
namespace {

namespace json = boost::json;

void write_csv_row(const export_sink& sink, const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += export_csv_field(fields[i]);
  }
  line += "\r\n";
  sink(line);
}

// One record as named values, in column order: the single source of both its CSV row and its
// JSON object, so the two formats cannot drift apart.
struct field {
  template <class T>
  field(std::string n, T&& v) : name(std::move(n)), value(json::value_from(std::forward<T>(v))) {}
  std::string name;
  json::value value;
};
using fields = std::vector<field>;

// A value as a CSV cell: strings as they are, null as an empty cell, numbers and booleans in
// their JSON spelling.
std::string csv_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return {};
  return json::serialize(v);
}

std::vector<std::string> names_of(const fields& f) {
  std::vector<std::string> out;
  for (const auto& x : f) out.push_back(x.name);
  return out;
}

std::vector<std::string> cells_of(const fields& f) {
  std::vector<std::string> out;
  for (const auto& x : f) out.push_back(csv_text(x.value));
  return out;
}

json::object object_of(fields f) {
  json::object o;
  for (auto& x : f) o[x.name] = std::move(x.value);
  return o;
}

json::value opt_json(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value nonempty_json(const std::string& v) {
  return v.empty() ? json::value(nullptr) : json::value(v);
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

json::object file_json(const file_record& f) {
  json::object o;
  o["content"] = f.content;
  o["md5"] = nonempty_json(f.md5);
  o["sha1"] = nonempty_json(f.sha1);
  o["sha256"] = nonempty_json(f.sha256);
  o["pdq"] = nonempty_json(f.pdq);
  o["phash"] = nonempty_json(f.phash);
  o["first_seen"] = f.first_seen;
  o["last_seen"] = f.last_seen;
  o["sightings"] = f.sightings;
  json::array urls;
  for (const auto& u : f.urls) urls.emplace_back(u);
  o["urls"] = std::move(urls);
  o["urls_total"] = f.urls_total;
  o["first_url"] = nonempty_json(f.first_url);
  o["viewed_by_esp"] = f.viewed_by_esp;
  o["viewed_by"] = nonempty_json(f.viewed_by);
  o["viewed_at"] = nonempty_json(f.viewed_at);
  o["evidence_preserved"] = f.evidence_preserved;
  return o;
}

fields hit_fields(const hit_record& h) {
  return {{"list_id", h.list_id},
          {"list_name", h.list_name},
          {"entry_id", h.entry_id},
          {"external_id", nonempty_json(h.external_id)},
          {"exchange", nonempty_json(h.exchange)},
          {"source_id", nonempty_json(h.source_id)},
          {"signal", h.signal},
          {"distance", h.distance},
          {"threshold", h.threshold},
          {"list_version", h.list_version},
          {"action", h.action},
          {"variant", h.variant}};
}

fields event_fields(const event_record& e) {
  return {{"event_id", e.id},
          {"occurred_at", e.occurred_at},
          {"recorded_at", e.recorded_at},
          {"zone", e.zone},
          {"source_url", nonempty_json(e.source_url)},
          {"source_url_truncated", e.source_url_truncated},
          {"request_id", nonempty_json(e.request_id)},
          {"node", nonempty_json(e.node)},
          {"case_id", e.case_id ? json::value(*e.case_id) : json::value(nullptr)},
          {"suppressed", e.suppressed},
          {"action", e.action},
          {"md5", nonempty_json(e.md5)},
          {"sha1", nonempty_json(e.sha1)},
          {"sha256", nonempty_json(e.sha256)},
          {"pdq", nonempty_json(e.pdq)},
          {"pdq_quality", e.pdq_quality ? json::value(*e.pdq_quality) : json::value(nullptr)},
          {"phash", nonempty_json(e.phash)},
          // The uploader the ingest request named (personal data; gone with the event).
          {"uploader_account", nonempty_json(e.uploader_account)},
          {"uploader_ip", nonempty_json(e.uploader_ip)},
          {"uploader_at", nonempty_json(e.uploader_at)}};
}

// The case fields both formats carry, in column order.
fields case_fields(const case_detail& c) {
  const auto& s = c.summary;
  return {{"case_id", s.id},
          {"zone", s.zone},
          {"harm_type", s.harm_type},
          {"status", s.status},
          {"opened_at", s.opened_at},
          {"first_seen", s.first_seen},
          {"last_seen", s.last_seen},
          {"sightings", s.sightings},
          {"required_confirmations", s.required_confirmations},
          {"confirmations", c.confirmations},
          {"classification", opt_json(s.classification)},
          {"dismissed_at", opt_json(s.dismissed_at)},
          {"reported_at", opt_json(s.reported_at)},
          {"preserve_until", opt_json(s.preserve_until)},
          {"legal_hold", s.legal_hold},
          {"near_miss", s.near_miss_distance.has_value()},
          {"near_miss_distance",
           s.near_miss_distance ? json::value(*s.near_miss_distance) : json::value(nullptr)},
          // Holds (holds.hpp): the report hold's end, the legal hold, why it is held now.
          {"report_hold_until", opt_json(s.report_hold_until)},
          {"legal_hold_reason", opt_json(s.legal_hold_reason)},
          {"legal_hold_until", opt_json(s.legal_hold_until)},
          {"held_because", opt_json(s.held_because)},
          {"evidence_destroyed_at", opt_json(s.evidence_destroyed_at)}};
}

// The CSV-only columns of a case after case_fields: counts and ';'-joined lists where the
// JSON form nests arrays.
const std::vector<std::string> case_csv_extra{"files",     "list_entries", "report_ids",
                                              "decisions", "sha256s",      "sources"};

fields aggregate_fields(const aggregate_row& r) {
  return {{"period", r.period},   {"list_id", r.list_id}, {"list_name", r.list_name},
          {"matches", r.matches}, {"reports", r.reports}, {"false_positives", r.false_positives}};
}

// The newest production submission, else the newest test one.
const report_record* chosen_report(const case_detail& c) {
  const report_record* best = nullptr;
  for (const auto& r : c.reports) {
    if (best == nullptr || r.environment == "production" || best->environment != "production") {
      best = &r;
    }
  }
  return best;
}

class xml_out {
 public:
  void open(std::string_view name) {
    indent();
    out_ += '<';
    out_ += name;
    out_ += ">\n";
    ++depth_;
  }
  void close(std::string_view name) {
    --depth_;
    indent();
    out_ += "</";
    out_ += name;
    out_ += ">\n";
  }
  void leaf(std::string_view name, std::string_view text,
            std::optional<std::pair<std::string_view, std::string_view>> attr = {}) {
    indent();
    out_ += '<';
    out_ += name;
    if (attr) {
      out_ += ' ';
      out_ += attr->first;
      out_ += "=\"";
      out_ += xml_escape(attr->second);
      out_ += '"';
    }
    out_ += '>';
    out_ += xml_escape(text);
    out_ += "</";
    out_ += name;
    out_ += ">\n";
  }
  /// The document element, with its attributes already written in `start_tag`.
  void root(std::string_view start_tag) {
    out_ += start_tag;
    out_ += '\n';
    ++depth_;
  }
  std::string take() { return std::move(out_); }

 private:
  void indent() { out_.append(static_cast<std::size_t>(depth_) * 2, ' '); }
  std::string out_{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"};
  int depth_{0};
};

// incidentDateTime may never lie in the future (NCMEC rejects such a report): a first sighting
// stamped ahead of this host's clock (another node's clock skew) is reported as now. Both are
// the fixed-width UTC form of iso_of(), so their text order is their time order.
std::string not_in_future(const std::string& iso) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char now[40];
  std::strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return iso > now ? std::string(now) : iso;
}

// personOrUserReported, one per uploader account the case's events named (X-Uploader-*), its
// children in the XSD order of cybertipline.md: espIdentifier (the account), then one
// ipCaptureEvent per distinct upload IP and time (ipAddress, eventName Upload, dateTime), then
// additionalInfo for what has no IP and for any cut (never a silent one).
void reported_persons(xml_out& x, const case_detail& c) {
  for (const auto& u : c.uploaders) {
    x.open("personOrUserReported");
    if (!u.account.empty()) x.leaf("espIdentifier", u.account);
    std::vector<std::string> notes;
    for (const auto& ev : u.events) {
      if (ev.ip.empty()) {
        if (!ev.at.empty()) notes.push_back("uploaded at " + ev.at + " (no IP address given)");
        continue;
      }
      x.open("ipCaptureEvent");
      x.leaf("ipAddress", ev.ip);
      x.leaf("eventName", "Upload");
      if (!ev.at.empty()) x.leaf("dateTime", ev.at);
      x.close("ipCaptureEvent");
    }
    if (u.events_total > static_cast<std::int64_t>(u.events.size())) {
      notes.push_back("the first " + std::to_string(u.events.size()) + " of " +
                      std::to_string(u.events_total) + " distinct upload events are listed");
    }
    if (u.account.empty()) notes.push_back("the ingest requests named no uploader account");
    if (!notes.empty()) x.leaf("additionalInfo", join(notes, '\n'));
    x.close("personOrUserReported");
  }
}

std::string report_xml(const case_detail& c, const package_options& o) {
  xml_out x;
  // The root carries the schema reference the service publishes at /xsd (no namespace).
  x.root(
      "<report xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
      " xsi:noNamespaceSchemaLocation=\"https://report.cybertip.org/ispws/xsd\">");
  // Children in the XSD sequence order: incidentSummary, internetDetails, reporter,
  // personOrUserReported*,
  // additionalInfo (the optional elements hashguard has nothing for are left out).
  x.open("incidentSummary");
  x.leaf("incidentType", o.incident_type);
  // The first sighting: when the content was first seen on the provider's network.
  x.leaf("incidentDateTime", not_in_future(c.summary.first_seen));
  x.close("incidentSummary");
  x.open("internetDetails");
  x.open("webPageIncident");
  // Each file's kept URLs (urls_per_file at most), once each.
  std::vector<std::string> urls;
  bool capped = false;
  for (const auto& f : c.files) {
    capped = capped || f.urls_total > static_cast<std::int64_t>(f.urls.size());
    for (const auto& u : f.urls) {
      if (std::find(urls.begin(), urls.end(), u) == urls.end()) urls.push_back(u);
    }
  }
  for (const auto& u : urls) x.leaf("url", u);
  std::string info = "zone: " + c.summary.zone;
  if (capped) {
    // Never a silent cut: the reader learns how many URLs there are and which ones are listed.
    info += "; " + std::to_string(urls.size()) + " of " + std::to_string(c.urls_total) +
            " distinct URLs listed (the " + std::to_string(urls_per_file) +
            " most recently seen of each file)";
  }
  x.leaf("additionalInfo", info);
  x.close("webPageIncident");
  x.close("internetDetails");
  x.open("reporter");
  x.open("reportingPerson");
  x.leaf("firstName", o.person.first_name);
  x.leaf("lastName", o.person.last_name);
  if (!o.person.phone.empty()) x.leaf("phone", o.person.phone);
  if (!o.person.email.empty()) x.leaf("email", o.person.email);
  x.close("reportingPerson");
  x.close("reporter");
  reported_persons(x, c);
  std::string summary = "hashguard case " + std::to_string(c.summary.id) + ": " +
                        std::to_string(c.summary.sightings) + " sightings of " +
                        std::to_string(c.files.size()) + " files, first seen " +
                        c.summary.first_seen + ", last seen " + c.summary.last_seen;
  if (c.uploaders_total > static_cast<std::int64_t>(c.uploaders.size())) {
    summary += "; " + std::to_string(c.uploaders.size()) + " of " +
               std::to_string(c.uploaders_total) + " uploader accounts listed";
  }
  if (!o.report_note.empty()) summary += "; " + o.report_note;
  x.leaf("additionalInfo", summary);
  x.close("report");
  return x.take();
}

// What matched for one file (its distinct hits, most seen first) and where it was seen. Hits in
// a near-miss band appear only once the case is confirmed (`confirmed`).
std::string match_provenance(const file_record& f, bool confirmed) {
  std::vector<std::string> lines;
  for (const auto& m : f.matches) {
    const auto& h = m.hit;
    if (!confirmed && h.distance > h.threshold) continue;
    std::string line = "matched list " + h.list_name + " (id " + std::to_string(h.list_id) +
                       ", version " + std::to_string(h.list_version) + ") entry " +
                       std::to_string(h.entry_id);
    if (!h.external_id.empty()) line += " [" + h.external_id + "]";
    // Provenance: which hash-sharing source listed the entry, under which id there.
    if (!h.exchange.empty()) {
      line += " from exchange " + h.exchange + " (source id " +
              (h.source_id.empty() ? std::string("none") : h.source_id) + ")";
    }
    line += " by " + h.signal + " at distance " + std::to_string(h.distance) + " (threshold " +
            std::to_string(h.threshold) + ", variant " + h.variant + ") in " +
            std::to_string(m.sightings) + " sightings";
    // A near-miss (above the list's threshold, in its review band) reaches a report only as
    // what a reviewer confirmed it to be, never as a list match of its own.
    if (confirmed && h.distance > h.threshold) {
      line += " (a near-miss in the list's review band, confirmed by human review)";
    }
    lines.push_back(std::move(line));
  }
  if (f.matches_total > static_cast<std::int64_t>(f.matches.size())) {
    lines.push_back("the " + std::to_string(f.matches.size()) + " most frequent of " +
                    std::to_string(f.matches_total) + " distinct matches are listed");
  }
  std::string seen = std::to_string(f.sightings) + " sightings from " + f.first_seen + " to " +
                     f.last_seen + " at " + std::to_string(f.urls_total) + " distinct URLs";
  if (f.urls_total > static_cast<std::int64_t>(f.urls.size())) {
    seen += " (report.xml lists the " + std::to_string(f.urls.size()) + " most recently seen)";
  }
  lines.push_back(std::move(seen));
  return join(lines, '\n');
}

std::string file_xml(const case_detail& c, const file_record& f, std::size_t index,
                     const package_options& o,
                     const std::optional<std::pair<std::string, std::string>>& ids = {}) {
  xml_out x;
  x.root("<fileDetails>");
  // Children in the XSD sequence order of cybertipline.md: reportId, fileId, ...,
  // locationOfFile, fileViewedByEsp, ..., publiclyAvailable, ..., industryClassification,
  // originalFileHash*, ..., additionalInfo*.
  if (ids) {
    x.leaf("reportId", ids->first);
    x.leaf("fileId", ids->second);
  } else if (const report_record* r = chosen_report(c)) {
    x.leaf("reportId", r->report_id);
    if (index < r->file_ids.size()) x.leaf("fileId", r->file_ids[index]);
  }
  // Where it was first seen: the original location.
  if (!f.first_url.empty()) x.leaf("locationOfFile", f.first_url);
  x.leaf("fileViewedByEsp", f.viewed_by_esp ? "true" : "false");
  x.leaf("publiclyAvailable", o.publicly_available ? "true" : "false");
  // Only signatories of the industry hash-sharing MOU may use the element.
  if (o.hash_sharing_signatory && c.summary.classification) {
    x.leaf("industryClassification", *c.summary.classification);
  }
  using attr = std::pair<std::string_view, std::string_view>;
  if (!f.md5.empty()) x.leaf("originalFileHash", f.md5, attr{"hashType", "MD5"});
  if (!f.sha1.empty()) x.leaf("originalFileHash", f.sha1, attr{"hashType", "SHA1"});
  if (!f.sha256.empty()) x.leaf("originalFileHash", f.sha256, attr{"hashType", "SHA256"});
  if (!f.pdq.empty()) x.leaf("originalFileHash", f.pdq, attr{"hashType", "PDQ"});
  std::string info =
      match_provenance(f, c.summary.status == "confirmed" || c.summary.status == "reported");
  // Who saw the original unblurred, and when (fileViewedByEsp's grounds, kept in the receipt).
  if (f.viewed_by_esp) info += "; viewed unblurred by " + f.viewed_by + " at " + f.viewed_at;
  x.leaf("additionalInfo", info);
  x.close("fileDetails");
  return x.take();
}

void octal(char* field, std::size_t width, std::uint64_t value) {
  // width - 1 octal digits, zero-padded, and a NUL, as ustar expects.
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

void tar_entry(const export_sink& sink, const std::string& name, const std::string& content,
               std::int64_t mtime_s) {
  std::array<char, 512> h{};
  std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 99));
  octal(&h[100], 8, 0644);
  octal(&h[108], 8, 0);
  octal(&h[116], 8, 0);
  octal(&h[124], 12, content.size());
  octal(&h[136], 12, static_cast<std::uint64_t>(mtime_s < 0 ? 0 : mtime_s));
  h[156] = '0';
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memcpy(&h[265], "hashguard", 9);
  std::memcpy(&h[297], "hashguard", 9);
  // The checksum is computed with its own field read as eight spaces.
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char ch : h) sum += static_cast<unsigned char>(ch);
  octal(&h[148], 7, sum);  // six digits and a NUL, then the space that stays
  h[155] = ' ';
  sink(std::string_view(h.data(), h.size()));
  sink(content);
  const std::size_t pad = (512 - content.size() % 512) % 512;
  if (pad > 0) sink(std::string(pad, '\0'));
}

}  // namespace

std::string_view to_string(export_format f) noexcept {
  return f == export_format::csv ? "csv" : "json";
}

std::optional<export_format> parse_export_format(std::string_view text) noexcept {
  if (text == "csv") return export_format::csv;
  if (text == "json") return export_format::json;
  return std::nullopt;
}

std::string export_csv_field(std::string_view value) {
  std::string v;
  // A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    v += '\'';
  }
  v += value;
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string xml_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') {
          break;  // not allowed in XML 1.0, even escaped
        }
        out += ch;
    }
  }
  return out;
}

record_writer::record_writer(export_format f, export_sink sink,
                             const std::vector<std::string>& csv_columns)
    : format_(f), sink_(std::move(sink)) {
  if (format_ == export_format::csv) write_csv_row(sink_, csv_columns);
}

void record_writer::emit_csv(const std::vector<std::string>& cells) {
  write_csv_row(sink_, cells);
}

void record_writer::emit_json(std::string_view object) {
  // The JSON array framing: '[' before the first item, ',' between.
  std::string out = items_ == 0 ? "[\n" : ",\n";
  out += object;
  sink_(out);
}

void record_writer::finish() {
  if (format_ == export_format::json) sink_(items_ == 0 ? "[]\n" : "\n]\n");
}

const std::vector<std::string>& cases_csv_columns() {
  static const std::vector<std::string> columns = [] {
    auto c = names_of(case_fields(case_detail{}));
    c.insert(c.end(), case_csv_extra.begin(), case_csv_extra.end());
    return c;
  }();
  return columns;
}

cases_writer::cases_writer(export_format f, export_sink sink)
    : record_writer(f, std::move(sink), cases_csv_columns()) {}

void cases_writer::add(const case_detail& c) {
  fields f = case_fields(c);
  if (format_ == export_format::csv) {
    std::vector<std::string> entries;
    std::vector<std::string> sources;  // exchange:source_id of each exchange-fed entry
    for (const auto& e : c.entries) {
      entries.push_back(std::to_string(e.list_id) + ":" + std::to_string(e.entry_id));
      if (!e.exchange.empty()) sources.push_back(e.exchange + ":" + e.source_id);
    }
    std::vector<std::string> report_ids;
    for (const auto& r : c.reports) report_ids.push_back(r.environment + ":" + r.report_id);
    std::vector<std::string> decisions;
    for (const auto& d : c.decisions) {
      decisions.push_back(d.decided_at + " " + d.decision + " by key " +
                          std::to_string(d.reviewer_key_id));
    }
    std::vector<std::string> digests;
    for (const auto& file : c.files)
      digests.push_back(file.sha256.empty() ? file.content : file.sha256);
    auto cells = cells_of(f);
    cells.insert(cells.end(),
                 {std::to_string(c.summary.files), join(entries, ';'), join(report_ids, ';'),
                  join(decisions, ';'), join(digests, ';'), join(sources, ';')});
    emit_csv(cells);
  } else {
    json::object o = object_of(std::move(f));
    o["details_purged"] = c.summary.details_purged;
    json::array entry_array;
    for (const auto& e : c.entries) {
      entry_array.push_back(json::object{{"list_id", e.list_id},
                                         {"list_name", e.list_name},
                                         {"entry_id", e.entry_id},
                                         {"external_id", nonempty_json(e.external_id)},
                                         {"exchange", nonempty_json(e.exchange)},
                                         {"source_id", nonempty_json(e.source_id)}});
    }
    o["list_entries"] = std::move(entry_array);
    json::array files;
    for (const auto& file : c.files) files.push_back(file_json(file));
    o["files"] = std::move(files);
    json::array decision_array;
    for (const auto& d : c.decisions) {
      decision_array.push_back(json::object{{"id", d.id},
                                            {"reviewer_key_id", d.reviewer_key_id},
                                            {"decision", d.decision},
                                            {"classification", opt_json(d.classification)},
                                            {"note", d.note},
                                            {"decided_at", d.decided_at}});
    }
    o["decisions"] = std::move(decision_array);
    json::array report_array;
    for (const auto& r : c.reports) {
      json::array file_ids;
      for (const auto& id : r.file_ids) file_ids.emplace_back(id);
      report_array.push_back(json::object{{"report_id", r.report_id},
                                          {"file_ids", std::move(file_ids)},
                                          {"submitted_at", r.submitted_at},
                                          {"finished_at", opt_json(r.finished_at)},
                                          {"environment", r.environment},
                                          {"responses", r.responses},
                                          {"recorded_at", r.recorded_at}});
    }
    o["reports"] = std::move(report_array);
    emit_json(json::serialize(o));
  }
  ++items_;
}

const std::vector<std::string>& events_csv_columns() {
  // The event's fields, then one hit's (its action named hit_action beside the event's).
  static const std::vector<std::string> columns = [] {
    auto c = names_of(event_fields(event_record{}));
    c.emplace_back("hit");
    for (auto& name : names_of(hit_fields(hit_record{}))) {
      c.push_back(name == "action" ? "hit_action" : name);
    }
    return c;
  }();
  return columns;
}

events_writer::events_writer(export_format f, export_sink sink)
    : record_writer(f, std::move(sink), events_csv_columns()) {}

void events_writer::add(const event_record& e) {
  fields f = event_fields(e);
  if (format_ == export_format::csv) {
    const auto base = cells_of(f);
    for (std::size_t i = 0; i < e.hits.size(); ++i) {
      auto row = base;
      row.push_back(std::to_string(i + 1));
      for (auto& cell : cells_of(hit_fields(e.hits[i]))) row.push_back(std::move(cell));
      emit_csv(row);
    }
  } else {
    json::object o = object_of(std::move(f));
    json::array hits;
    for (const auto& h : e.hits) hits.push_back(object_of(hit_fields(h)));
    o["hits"] = std::move(hits);
    emit_json(json::serialize(o));
  }
  ++items_;
}

namespace {

fields audit_fields(const audit_entry& e) {
  return {
      {"id", e.id},           {"at", e.at},         {"actor", e.actor},      {"action", e.action},
      {"subject", e.subject}, {"detail", e.detail}, {"row_hash", e.row_hash}};
}

}  // namespace

audit_writer::audit_writer(export_format f, export_sink sink)
    : record_writer(f, std::move(sink), names_of(audit_fields(audit_entry{}))) {}

void audit_writer::add(const audit_entry& e) {
  if (format_ == export_format::csv) {
    emit_csv(cells_of(audit_fields(e)));
  } else {
    emit_json(json::serialize(object_of(audit_fields(e))));
  }
  ++items_;
}

aggregate_writer::aggregate_writer(export_format f, export_sink sink)
    : record_writer(f, std::move(sink), names_of(aggregate_fields(aggregate_row{}))) {}

void aggregate_writer::add(const aggregate_row& r) {
  if (format_ == export_format::csv) {
    emit_csv(cells_of(aggregate_fields(r)));
  } else {
    emit_json(json::serialize(object_of(aggregate_fields(r))));
  }
  ++items_;
}

std::vector<package_document> cybertipline_documents(const case_detail& c,
                                                     const package_options& o) {
  std::vector<package_document> docs;
  docs.push_back({"report.xml", report_xml(c, o)});
  for (std::size_t i = 0; i < c.files.size(); ++i) {
    docs.push_back(
        {"fileDetails-" + std::to_string(i + 1) + ".xml", file_xml(c, c.files[i], i, o)});
  }
  return docs;
}

std::string cybertipline_report_xml(const case_detail& c, const package_options& o) {
  return report_xml(c, o);
}

std::string cybertipline_file_details(
    const case_detail& c, std::size_t index, const package_options& o,
    const std::optional<std::pair<std::string, std::string>>& ids) {
  if (ids) return file_xml(c, c.files.at(index), index, o, ids);
  // Not yet filed: no ids at all (never those of a submission recorded by hand).
  case_detail unfiled = c;
  unfiled.reports.clear();
  return file_xml(unfiled, unfiled.files.at(index), index, o);
}

void write_tar_package(const std::vector<package_document>& docs, std::int64_t mtime_s,
                       const export_sink& sink) {
  json::array manifest;
  for (const auto& d : docs) {
    tar_entry(sink, d.name, d.content, mtime_s);
    manifest.push_back(json::object{{"name", d.name},
                                    {"bytes", d.content.size()},
                                    {"sha256", core::to_hex(detail::sha256(d.content))}});
  }
  tar_entry(sink, "manifest.json", json::serialize(json::object{{"files", manifest}}) + "\n",
            mtime_s);
  sink(std::string(1024, '\0'));  // two zero blocks end the archive
}

}  // namespace hashguard::hashdb
