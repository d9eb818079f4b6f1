// vpdq lists in the list store (lists.hpp import/export of the vPDQ video file) and in the
// snapshot loader (the video index, never written to the snapshot cache).
#include "hashguard/core/vpdq_text.hpp"
#include "hashguard/hashdb/lists.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace hashguard;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const fs::path vectors = fs::path(HG_TEST_DATA) / "vpdq-vectors" / "expected";

std::vector<matcher::video_frame_hash> frames_of(const std::vector<core::vpdq_frame>& in) {
  std::vector<matcher::video_frame_hash> out;
  for (const auto& f : in) out.push_back({f.hash, f.quality, f.timestamp});
  return out;
}

}  // namespace

TEST_CASE("vpdq lists: import, duplicates, rejects, export, snapshot") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  hashdb::list_spec spec;
  spec.name = "videos";
  spec.sig = core::signal::vpdq;
  spec.threshold = 31;
  spec.act = core::action::report;
  spec.video_query_percent = 70;
  spec.video_compared_percent = 2;
  auto made = store.create(spec);
  REQUIRE(made);
  CHECK(made->video_query_percent == 70);
  CHECK(made->video_compared_percent == 2);
  hashdb::list_spec zero = spec;
  zero.name = "zero";
  zero.video_query_percent = 0;
  CHECK_FALSE(store.create(zero));
  // A pdq list beside it: its entries still come from the COPY of hashes.
  hashdb::list_spec images;
  images.name = "images";
  images.sig = core::signal::pdq;
  images.threshold = 31;
  REQUIRE(store.create(images));
  std::istringstream one_image(std::string(64, '3') + "\n");
  REQUIRE(store.import("images", one_image));

  // A reference file: one video, named by the caller.
  const std::string pattern = read_text(vectors / "pattern-sd-grey-bar.txt");
  hashdb::import_options named;
  named.video_name = "pattern-grey";
  std::istringstream in1(pattern);
  auto r1 = store.import("videos", in1, named);
  REQUIRE(r1);
  CHECK(r1->accepted == 1);
  CHECK(r1->rejected == 0);
  std::istringstream in2(pattern);
  auto r2 = store.import("videos", in2, named);
  REQUIRE(r2);
  CHECK(r2->accepted == 0);
  CHECK(r2->duplicates == 1);

  // The multi-video form: a good video, a bad one (reported with its line), another good one.
  const std::string padded = read_text(vectors / "test-padded-dimensions.txt");
  const std::string multi = "# vpdq-videos v1\n# video: padded clip\n" + padded +
                            "# video: broken\n0,100,xyz,0.000\n# video: doorknob\n" +
                            read_text(vectors / "doorknob-hd-no-bar.txt");
  std::istringstream in3(multi);
  auto r3 = store.import("videos", in3);
  REQUIRE(r3);
  CHECK(r3->accepted == 2);
  CHECK(r3->rejected == 1);
  REQUIRE(r3->rejected_lines.size() == 1);
  CHECK(r3->rejected_lines[0].reason.find("broken: bad_frame") == 0);
  CHECK(store.get("videos")->entries == 3);

  // Export: the multi-video form, every frame as imported.
  std::ostringstream out;
  auto n = store.export_to("videos", hashdb::list_format::hex, out);
  REQUIRE(n);
  CHECK(*n == 3);
  const auto exported = core::parse_vpdq_videos(out.str(), "unused");
  REQUIRE(exported.size() == 3);
  CHECK(exported[0].name == "pattern-grey");
  CHECK(exported[0].frames == core::parse_vpdq_videos(pattern, "x")[0].frames);
  CHECK(exported[1].name == "padded clip");

  // Snapshot: the videos in the index, the image list beside them, no cache written.
  hg_test::temp_dir dir;
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "snap.bin";
  hashdb::snapshot_loader loader(o);
  hashdb::snapshot_load_report rep;
  auto snap = loader.load(&rep);
  REQUIRE(snap);
  CHECK_FALSE(rep.cache_written);
  CHECK_FALSE(fs::exists(o.cache_file));
  REQUIRE((*snap)->videos() != nullptr);
  CHECK((*snap)->size(core::signal::vpdq) == 3);
  CHECK((*snap)->size(core::signal::pdq) == 1);
  const auto* list = (*snap)->find_list(made->id);
  REQUIRE(list != nullptr);
  CHECK(list->video_query_percent == 70);
  CHECK(list->video_compared_percent == 2);

  // Every 30th frame of the pattern video (what 1 s per hash samples): that video matches,
  // at 100 % of the query and a few percent of its own frames.
  const auto all = core::parse_vpdq_videos(pattern, "x")[0].frames;
  std::vector<core::vpdq_frame> sampled;
  for (std::size_t i = 0; i < all.size(); i += 30) sampled.push_back(all[i]);
  std::vector<core::hit> hits;
  (*snap)->match_video(frames_of(sampled), hits);
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].detail->video->list_video == "pattern-grey");
  CHECK(hits[0].detail->video->query_match_percent == Approx(100.0));
  CHECK(hits[0].detail->video->compared_match_percent >= 2.0);
  for (const auto& h : hits) CHECK(h.detail->video->list_video != "doorknob");
}
