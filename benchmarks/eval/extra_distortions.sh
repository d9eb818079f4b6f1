#!/usr/bin/env bash
# benchmarks/eval/extra_distortions.sh VARIANTS_DIR
#
# Issue 16's distortions, made with ImageMagick from each <stem>__orig.jpg that
# ../shared/corpus/make_distortions.sh wrote into VARIANTS_DIR (so they compare with the same
# normalised original), written beside it as <stem>__<name>.jpg at quality 95:
#   rot270            rotate 90 degrees counter-clockwise
#   transpose         mirror about the main diagonal
#   flipV             vertical flip (top and bottom swap)
#   letterbox_black   fitted into a 16:9 frame, black bars (top/bottom or left/right)
#   letterbox_blur    the same, the bars a blurred, stretched copy of the picture
#   pillarbox_black   fitted into a 4:3 frame, black bars
#   pillarbox_blur    the same, blurred fill
#   border5_white, border10_black, border10_white, border5_colour (the picture's mean colour):
#                     5 % / 10 % of width left and right, of height top and bottom
#   mirror_scale50    left-right mirror, then 50 % size
#   crop5             5 % cut from each side, centred
#   text              a large caption across the centre (white with a black outline)
# Environment: JOBS (default nproc), CONVERT (default convert), WATERMARK_FONT (a .ttf).
set -euo pipefail
dir=$1
CONVERT=${CONVERT:-convert}
FONT=${WATERMARK_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf}
export FONT
export CONVERT
one() {
  local src=$1 stem w h
  stem=${src%__orig.jpg}
  read -r w h < <("$CONVERT" "$src" -format '%w %h\n' info:)
  local fw169=$(( h * 16 / 9 > w ? h * 16 / 9 : w )) fh169=$(( w * 9 / 16 > h ? w * 9 / 16 : h ))
  local fw43=$(( h * 4 / 3 > w ? h * 4 / 3 : w )) fh43=$(( w * 3 / 4 > h ? w * 3 / 4 : h ))
  local b5w=$(( w * 5 / 100 )) b5h=$(( h * 5 / 100 )) b10w=$(( w / 10 )) b10h=$(( h / 10 ))
  local crop_w=$(( w * 90 / 100 )) crop_h=$(( h * 90 / 100 )) pts=$(( h / 8 ))
  [ "$pts" -lt 8 ] && pts=8
  local mean
  mean=$("$CONVERT" "$src" -scale '1x1!' -format '%[pixel:p{0,0}]' info:)
  local q=(-quality 95)
  "$CONVERT" "$src" -write mpr:src \
    \( mpr:src -rotate 270 "${q[@]}" -write "${stem}__rot270.jpg" +delete \) \
    \( mpr:src -transpose "${q[@]}" -write "${stem}__transpose.jpg" +delete \) \
    \( mpr:src -flip "${q[@]}" -write "${stem}__flipV.jpg" +delete \) \
    \( mpr:src -gravity center -background black -extent "${fw169}x${fh169}" "${q[@]}" \
       -write "${stem}__letterbox_black.jpg" +delete \) \
    \( \( mpr:src -resize "${fw169}x${fh169}!" -blur 0x20 \) mpr:src -gravity center -composite \
       "${q[@]}" -write "${stem}__letterbox_blur.jpg" +delete \) \
    \( mpr:src -gravity center -background black -extent "${fw43}x${fh43}" "${q[@]}" \
       -write "${stem}__pillarbox_black.jpg" +delete \) \
    \( \( mpr:src -resize "${fw43}x${fh43}!" -blur 0x20 \) mpr:src -gravity center -composite \
       "${q[@]}" -write "${stem}__pillarbox_blur.jpg" +delete \) \
    \( mpr:src -bordercolor white -border "${b5w}x${b5h}" "${q[@]}" \
       -write "${stem}__border5_white.jpg" +delete \) \
    \( mpr:src -bordercolor black -border "${b10w}x${b10h}" "${q[@]}" \
       -write "${stem}__border10_black.jpg" +delete \) \
    \( mpr:src -bordercolor white -border "${b10w}x${b10h}" "${q[@]}" \
       -write "${stem}__border10_white.jpg" +delete \) \
    \( mpr:src -bordercolor "$mean" -border "${b5w}x${b5h}" "${q[@]}" \
       -write "${stem}__border5_colour.jpg" +delete \) \
    \( mpr:src -flop -resize 50% "${q[@]}" -write "${stem}__mirror_scale50.jpg" +delete \) \
    \( mpr:src -gravity center -crop "${crop_w}x${crop_h}+0+0" +repage "${q[@]}" \
       -write "${stem}__crop5.jpg" +delete \) \
    \( mpr:src -gravity center -font "$FONT" -pointsize "$pts" -fill white -stroke black \
       -strokewidth $(( pts / 20 + 1 )) -annotate +0+0 "SAMPLE CAPTION" "${q[@]}" \
       -write "${stem}__text.jpg" +delete \) \
    null: 2>/dev/null || echo "extra_distortions: failed on $src" >&2
}
export -f one
find "$dir" -name '*__orig.jpg' -print0 | sort -z |
  xargs -0 -P "${JOBS:-$(nproc)}" -I{} bash -c 'one "$1"' _ {}
