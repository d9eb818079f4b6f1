#include "hashguard/reporting/case_content.hpp"

#include <memory>
#include <utility>
#include <vector>

namespace hashguard::reporting {

std::string upload_name(const hashdb::file_record& f) {
  return (f.sha256.empty() ? f.content : f.sha256) + ".bin";
}

content_source case_content(hashdb::connection& conn, case_content_options o) {
  auto opts = std::make_shared<const case_content_options>(std::move(o));
  return [&conn, opts](const hashdb::report_job& j) -> core::result<report_content> {
    auto loaded = hashdb::exporter(conn).package_case(j.case_id);
    if (!loaded) return loaded.error();
    auto c = std::make_shared<const hashdb::case_detail>(std::move(*loaded));
    std::vector<std::size_t> sent;  // indexes into c->files of the files uploaded
    if (opts->evidence) {
      for (std::size_t i = 0; i < c->files.size(); ++i) {
        if (c->files[i].evidence_preserved) sent.push_back(i);
      }
    }
    hashdb::package_options po = opts->package;
    if (sent.empty()) {
      po.report_note = "no files attached: hashguard holds no preserved copy of this case's " +
                       std::string(c->files.size() == 1 ? "file" : "files");
    } else if (sent.size() < c->files.size()) {
      po.report_note = std::to_string(sent.size()) + " of " + std::to_string(c->files.size()) +
                       " files attached: the others have no preserved copy";
    }
    report_content out;
    out.report_xml = hashdb::cybertipline_report_xml(*c, po);
    for (const std::size_t i : sent) {
      report_content::file f;
      f.name = upload_name(c->files[i]);
      f.load = [&conn, opts, case_id = j.case_id,
                content = c->files[i].content]() -> core::result<std::string> {
        hashdb::evidence_store store(conn, *opts->evidence);
        auto r = store.reveal(case_id, content, opts->actor, "CyberTipline upload",
                              hashdb::reveal_mode::report_upload);
        if (!r) return r.error();
        return std::move(r->bytes);
      };
      out.files.push_back(std::move(f));
    }
    out.file_details = [c, po, sent](std::size_t index, const std::string& report_id,
                                     const std::string& file_id) {
      // No ids yet (a preview): the elements are left out.
      std::optional<std::pair<std::string, std::string>> ids;
      if (!report_id.empty()) ids.emplace(report_id, file_id);
      return hashdb::cybertipline_file_details(*c, sent.at(index), po, ids);
    };
    return out;
  };
}

}  // namespace hashguard::reporting
