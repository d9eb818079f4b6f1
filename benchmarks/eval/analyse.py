#!/usr/bin/python3
"""Detection-quality analysis for benchmarks/eval/eval (standard library only).

Reads `hashguard hash --format=jsonl` output for the corpus originals and their distorted
variants and writes report.md, the data files and gnuplot scripts for the plots into --out.
"""
import argparse
import collections
import json
import os
import statistics

PDQ_THRESHOLD = 31
PHASH_THRESHOLD = 10
MIN_QUALITY = 50
REVIEW_THRESHOLD = 48  # the near-miss band: review_threshold 48 above threshold 31
DIHEDRAL = ["rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"]


def load(path):
    ok, failed = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if "error" in rec:
                failed.append(rec)
            else:
                ok[rec["path"]] = rec
    return ok, failed


def pdq_int(hex_text):
    return int(hex_text, 16)


def dist(a, b):
    return (a ^ b).bit_count()


def set_of(basename):
    return basename.split("__", 1)[0]


# Matching modes (match.orientations x match.trim): the query hashes each mode searches with,
# as (hash, quality) pairs. `hashguard hash --query-hashes` gives "query": the 8 pixel-level
# orientation hashes and, when bars were found, the trimmed content's hash with its dihedral
# variants and orientations.
MODES = ["dihedral", "exact", "dihedral+trim", "exact+trim"]
ORIENTATIONS = ["original"] + DIHEDRAL


def query_hashes(rec, mode):
    q = rec.get("query", {})
    out = [(pdq_int(rec["pdq"]), rec["quality"])]
    if mode.startswith("dihedral"):
        out += [(pdq_int(rec["dihedral"][k]), rec["quality"]) for k in DIHEDRAL]
    else:
        out += [(pdq_int(q["orientations"][k]), rec["quality"]) for k in DIHEDRAL]
    trimmed = q.get("trimmed") or []
    if isinstance(trimmed, dict):  # one candidate (hashguard before the candidate layouts)
        trimmed = [trimmed]
    if mode.endswith("+trim"):
        for t in trimmed:
            out.append((pdq_int(t["pdq"]), t["quality"]))
            if mode.startswith("dihedral"):
                out += [(pdq_int(t["dihedral"][k]), t["quality"]) for k in DIHEDRAL]
            else:
                out += [(pdq_int(t["orientations"][k]), t["quality"]) for k in DIHEDRAL]
    return out


def best(queries, target, gated):
    return min((dist(h, target) for h, q in queries if not gated or q >= MIN_QUALITY),
               default=256)


def mode_tables(originals, by_stem, w, max_t):
    """Found share per distortion and mode, and false positives per mode and threshold."""
    if not any("query" in r for r in originals.values()):
        return
    w("## Matching modes: reference dihedral against exact orientations, untrimmed and trimmed\n")
    w("Each mode is what `match.orientations` (dihedral | exact) and `match.trim` search with: "
      "the variant's hash plus its 7 dihedral variants (the reference's DCT shortcut) or its 7 "
      "pixel-level orientation hashes, and with trimming also the hashes of the content inside "
      "the bars it found. Found = the best of them within 31 of the original's hash, quality "
      "gate not applied (as the table above); *gated* = the same counting only query hashes of "
      "quality >= 50 (the matcher's gate, applied to the trimmed content on its own).\n")
    w("| distortion | variants | " + " | ".join(f"{m} | {m}, gated" for m in MODES) +
      " |")
    w("|---|---:|" + "---:|---:|" * len(MODES))
    per = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    band_true = collections.Counter()  # mode -> variants whose best is in the band
    counts = collections.Counter()
    for stem, recs in by_stem.items():
        base = recs.get("orig")
        if base is None:
            continue
        target = pdq_int(base["pdq"])
        for distortion, rec in recs.items():
            if distortion == "orig" or "query" not in rec:
                continue
            counts[distortion] += 1
            for m in MODES:
                qs = query_hashes(rec, m)
                cell = per[distortion][m]
                d = best(qs, target, False)
                cell[0] += d <= PDQ_THRESHOLD
                cell[1] += best(qs, target, True) <= PDQ_THRESHOLD
                band_true[m] += PDQ_THRESHOLD < d <= REVIEW_THRESHOLD
    for distortion in sorted(counts):
        k = counts[distortion]
        cells = []
        for m in MODES:
            a, g = per[distortion][m]
            cells.append(f"{a / k:.1%} | {g / k:.1%}")
        w(f"| {distortion} | {k} | " + " | ".join(cells) + " |")
    w("")
    # False positives: every distinct pair of originals, each side's every query hash against
    # the other's hash (a pair counts once, at the smaller of the two directions).
    orig = [r for _, r in sorted(originals.items()) if "query" in r]
    n = len(orig)
    w("### False positives per mode, all distinct pairs, every query hash counted\n")
    w(f"Pairs of different originals ({n * (n - 1) // 2} pairs) whose best query hash is at or "
      "under the threshold; gated = both sides' hashes of quality >= 50.\n")
    hists = {}
    for m in MODES:
        qs = [query_hashes(r, m) for r in orig]
        targets = [(pdq_int(r["pdq"]), r["quality"]) for r in orig]
        hist = [0] * 257
        hist_gated = [0] * 257
        plain = [[h for h, _ in q] for q in qs]
        all_usable = [all(qq >= MIN_QUALITY for _, qq in q) for q in qs]
        for i in range(n):
            qi, ti = plain[i], targets[i][0]
            for j in range(i + 1, n):
                tj = targets[j][0]
                d = min(min((h ^ tj).bit_count() for h in qi),
                        min((h ^ ti).bit_count() for h in plain[j]))
                hist[d] += 1
                if targets[i][1] >= MIN_QUALITY and targets[j][1] >= MIN_QUALITY:
                    if all_usable[i] and all_usable[j]:
                        dg = d
                    else:
                        dg = min(best(qs[i], tj, True), best(qs[j], ti, True))
                    hist_gated[dg] += 1
        hists[m] = (hist, hist_gated)
    w("| threshold | " + " | ".join(f"{m} | {m}, gated" for m in MODES) + " |")
    w("|---:|" + "---:|---:|" * len(MODES))
    for t in range(max_t + 1):
        cells = []
        for m in MODES:
            h, g = hists[m]
            cells.append(f"{sum(h[: t + 1])} | {sum(g[: t + 1])}")
        w(f"| {t} | " + " | ".join(cells) + " |")
    w("")
    total_true = sum(counts.values())
    pairs = n * (n - 1) // 2
    w(f"### The near-miss band ({PDQ_THRESHOLD} < distance <= {REVIEW_THRESHOLD}) per mode\n")
    w("What a list with `threshold` 31 and `review_threshold` 48 sends to review instead of "
      "blocking or missing: true pairs = distorted copies (every distortion above) whose best "
      "query hash falls in the band; false pairs = distinct originals in the band (every query "
      "hash counted, ungated and gated).\n")
    w("| mode | true pairs in band | false pairs in band | false pairs in band, gated |")
    w("|---|---:|---:|---:|")
    for m in MODES:
        h, g = hists[m]
        fb = sum(h[PDQ_THRESHOLD + 1: REVIEW_THRESHOLD + 1])
        fg = sum(g[PDQ_THRESHOLD + 1: REVIEW_THRESHOLD + 1])
        w(f"| {m} | {band_true[m] / total_true:.1%} ({band_true[m]} of {total_true}) | "
          f"{fb / pairs:.2e} ({fb}) | {fg / pairs:.2e} ({fg}) |")
    w("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--originals", required=True)
    ap.add_argument("--variants", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hashguard-version", default="")
    args = ap.parse_args()

    originals, orig_failed = load(args.originals)
    variants, var_failed = load(args.variants)

    # ---- originals: quality and pairwise false positives per set
    orig_list = []
    for path, rec in sorted(originals.items()):
        name = os.path.basename(path)
        orig_list.append((set_of(name), pdq_int(rec["pdq"]), int(rec["phash"], 16),
                          rec["quality"]))
    sets = sorted({s for s, *_ in orig_list})
    quality_bins = collections.Counter(min(q // 10, 9) for *_, q in orig_list)
    low_quality = sum(1 for *_, q in orig_list if q < MIN_QUALITY)

    max_t = 64
    pair_hist_pdq = {s: [0] * 257 for s in sets + ["all"]}
    pair_hist_phash = {s: [0] * 65 for s in sets + ["all"]}
    pair_count = collections.Counter()
    usable_hist_pdq = [0] * 257
    usable_pairs = 0
    n = len(orig_list)
    for i in range(n):
        si, pi, hi, qi = orig_list[i]
        for j in range(i + 1, n):
            sj, pj, hj, qj = orig_list[j]
            d = dist(pi, pj)
            e = dist(hi, hj)
            pair_hist_pdq["all"][d] += 1
            pair_hist_phash["all"][e] += 1
            pair_count["all"] += 1
            if qi >= MIN_QUALITY and qj >= MIN_QUALITY:
                usable_hist_pdq[d] += 1
                usable_pairs += 1
            if si == sj:
                pair_hist_pdq[si][d] += 1
                pair_hist_phash[si][e] += 1
                pair_count[si] += 1

    def cumulative(hist, t):
        return sum(hist[: t + 1])

    # ---- variants against their normalised original
    by_stem = collections.defaultdict(dict)
    for path, rec in variants.items():
        name = os.path.basename(path)
        stem, distortion = name.rsplit("__", 1)
        distortion = distortion.rsplit(".", 1)[0]
        by_stem[stem][distortion] = rec
    per_dist = collections.defaultdict(list)  # distortion -> [(plain, dihedral, phash, q)]
    for stem, recs in by_stem.items():
        base = recs.get("orig")
        if base is None:
            continue
        base_pdq = pdq_int(base["pdq"])
        base_phash = int(base["phash"], 16)
        for distortion, rec in recs.items():
            if distortion == "orig":
                continue
            plain = dist(pdq_int(rec["pdq"]), base_pdq)
            dihedral = min([plain] + [dist(pdq_int(rec["dihedral"][k]), base_pdq)
                                      for k in DIHEDRAL])
            ph = dist(int(rec["phash"], 16), base_phash)
            per_dist[distortion].append((plain, dihedral, ph, rec["quality"], base["quality"]))

    os.makedirs(args.out, exist_ok=True)
    out = args.out

    # ---- data files for the plots
    same_hist = [0] * 257
    same_hist_dih = [0] * 257
    for rows in per_dist.values():
        for plain, dih, *_ in rows:
            same_hist[plain] += 1
            same_hist_dih[dih] += 1
    total_same = sum(same_hist) or 1
    total_diff = pair_count["all"] or 1
    with open(os.path.join(out, "pdq_distances.dat"), "w") as f:
        # PDQ distances are even (every hash has 128 ones: the median threshold), so bins of 2
        f.write("# distance_bin_start same_plain same_dihedral different (fractions per 2)\n")
        for d in range(0, 257, 2):
            def two(h):
                return h[d] + (h[d + 1] if d + 1 < len(h) else 0)
            f.write(f"{d} {two(same_hist) / total_same:.6g} "
                    f"{two(same_hist_dih) / total_same:.6g} "
                    f"{two(pair_hist_pdq['all']) / total_diff:.6g}\n")
    same_ph = [0] * 65
    for rows in per_dist.values():
        for _, _, ph, *_ in rows:
            same_ph[ph] += 1
    with open(os.path.join(out, "phash_distances.dat"), "w") as f:
        f.write("# distance same different (fractions)\n")
        for d in range(65):
            f.write(f"{d} {same_ph[d] / total_same:.6g} "
                    f"{pair_hist_phash['all'][d] / total_diff:.6g}\n")
    with open(os.path.join(out, "roc.dat"), "w") as f:
        f.write("# threshold pdq_fpr pdq_tpr_plain pdq_tpr_dihedral phash_fpr phash_tpr\n")
        for t in range(max_t + 1):
            f.write(f"{t} {cumulative(pair_hist_pdq['all'], t) / total_diff:.8g} "
                    f"{cumulative(same_hist, t) / total_same:.6g} "
                    f"{cumulative(same_hist_dih, t) / total_same:.6g} "
                    f"{cumulative(pair_hist_phash['all'], t) / total_diff:.8g} "
                    f"{cumulative(same_ph, t) / total_same:.6g}\n")

    plots = {
        "pdq_distances": ("PDQ distance: same picture (variant vs original) and different pictures",
                          "pdq_distances.dat", "Hamming distance (of 256)",
                          "using 1:2 with lines title 'same, plain', "
                          "'' using 1:3 with lines title 'same, best dihedral', "
                          "'' using 1:4 with lines title 'different pictures'", "[0:256]"),
        "phash_distances": ("pHash distance: same picture and different pictures",
                            "phash_distances.dat", "Hamming distance (of 64)",
                            "using 1:2 with lines title 'same', "
                            "'' using 1:3 with lines title 'different pictures'", "[0:64]"),
    }
    for name, (title, dat, xlabel, using, xrange_) in plots.items():
        with open(os.path.join(out, f"{name}.gp"), "w") as f:
            f.write(f"set terminal pngcairo size 900,540\nset output '{out}/{name}.png'\n"
                    f"set title \"{title}\"\nset xlabel '{xlabel}'\n"
                    f"set ylabel 'share of pairs'\nset xrange {xrange_}\nset grid\n"
                    f"plot '{out}/{dat}' {using}\n")
    with open(os.path.join(out, "roc.gp"), "w") as f:
        f.write(f"set terminal pngcairo size 900,540\nset output '{out}/roc.png'\n"
                "set title 'True-positive rate (all distortions) against false-positive rate "
                "(distinct originals), thresholds 0..64'\n"
                "set xlabel 'false-positive rate (log)'\nset ylabel 'true-positive rate'\n"
                "set logscale x\nset xrange [1e-7:1]\nset yrange [0:1]\nset grid\n"
                "set key bottom right\n"
                f"plot '{out}/roc.dat' using ($2>0?$2:1e-7):3 with linespoints title 'PDQ plain', "
                f"'{out}/roc.dat' using ($2>0?$2:1e-7):4 with linespoints title 'PDQ dihedral', "
                f"'{out}/roc.dat' using ($5>0?$5:1e-7):6 with linespoints title 'pHash'\n")

    # ---- report
    lines = []
    w = lines.append
    w("# hashguard detection quality on the public photo corpus\n")
    w(f"Generated by `benchmarks/eval/eval` ({args.hashguard_version.strip()}). "
      f"Originals hashed: {len(originals)} ({len(orig_failed)} could not be hashed); "
      f"variants hashed: {len(variants)} ({len(var_failed)} failed). "
      f"PDQ matches at distance <= {PDQ_THRESHOLD}, pHash at <= {PHASH_THRESHOLD}.\n")
    w("## Distorted copies found (share of variants within the threshold of their original)\n")
    w("| distortion | variants | PDQ <= 31 | PDQ <= 31, dihedral | PDQ usable (q >= 50) "
      "| pHash <= 10 | PDQ median distance |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    order = ["scale50", "scale25", "jpegq30", "crop10", "border5", "rot90", "flipH", "bright120",
             "gamma0.8", "gray", "watermark", "blur1.5"]
    for distortion in order + sorted(set(per_dist) - set(order)):
        rows = per_dist.get(distortion)
        if not rows:
            continue
        k = len(rows)
        plain = sum(1 for r in rows if r[0] <= PDQ_THRESHOLD) / k
        dih = sum(1 for r in rows if r[1] <= PDQ_THRESHOLD) / k
        usable = sum(1 for r in rows if r[3] >= MIN_QUALITY) / k
        ph = sum(1 for r in rows if r[2] <= PHASH_THRESHOLD) / k
        med = statistics.median(r[0] for r in rows)
        w(f"| {distortion} | {k} | {plain:.1%} | {dih:.1%} | {usable:.1%} | {ph:.1%} | {med:g} |")
    w("")
    w("Reading the table: *dihedral* means the variant's 8 dihedral hashes (computed from its "
      "one DCT, as the reference does) are compared with the original's hash and the best one "
      "counts. Rotations and flips are not recovered exactly: the reference's 64x64 decimation "
      "samples pixel positions that are not symmetric under a flip, so the dihedral hash of a "
      "flipped image differs from the hash of the flipped pixels by a few to tens of bits, most "
      "on small sharp images (the 256x256 and 512x512 astro PNGs). Crops and borders move the "
      "picture inside the frame, which PDQ is not designed to survive.\n")
    w("## False positives between distinct originals\n")
    w("Share of pairs of different pictures at or under each PDQ threshold, per corpus set "
      "(pairs within the set) and over all pairs. The last column keeps only pairs where both "
      "hashes have quality >= 50, as the matcher's quality gate does.\n")
    head = "| threshold | " + " | ".join(f"{s} ({pair_count[s]} pairs)" for s in sets) + \
        f" | all ({pair_count['all']} pairs) | all, both q >= 50 ({usable_pairs} pairs) |"
    w(head)
    w("|---:|" + "---:|" * (len(sets) + 2))
    for t in range(max_t + 1):
        cells = []
        for s in sets + ["all"]:
            c = cumulative(pair_hist_pdq[s], t)
            cells.append(f"{c / pair_count[s]:.2e} ({c})" if pair_count[s] else "-")
        c = cumulative(usable_hist_pdq, t)
        cells.append(f"{c / usable_pairs:.2e} ({c})" if usable_pairs else "-")
        w(f"| {t} | " + " | ".join(cells) + " |")
    w("")
    w("pHash false positives over all pairs at <= 10: "
      f"{cumulative(pair_hist_phash['all'], PHASH_THRESHOLD) / total_diff:.2e} "
      f"({cumulative(pair_hist_phash['all'], PHASH_THRESHOLD)} pairs).\n")
    mode_tables(originals, by_stem, w, max_t)
    w("## PDQ quality of the originals\n")
    w("| quality | " + " | ".join(f"{b * 10}-{b * 10 + 9 if b < 9 else 100}" for b in range(10))
      + " |")
    w("|---|" + "---:|" * 10)
    w("| images | " + " | ".join(str(quality_bins.get(b, 0)) for b in range(10)) + " |")
    w(f"\n{low_quality} of {len(orig_list)} originals have quality below {MIN_QUALITY} "
      "(the matcher treats their PDQ as no usable hash; exact digests and pHash still apply).\n")
    w("## Plots\n")
    w("![PDQ distances](pdq_distances.png)\n")
    w("![pHash distances](phash_distances.png)\n")
    w("![ROC](roc.png)\n")
    if orig_failed or var_failed:
        w("## Inputs that could not be hashed\n")
        codes = collections.Counter(r["error"]["code"] for r in orig_failed + var_failed)
        for code, count in codes.most_common():
            w(f"- {code}: {count}")
    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
