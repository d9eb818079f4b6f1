#!/usr/bin/env bash
# Regenerates the synthetic test images in this folder and expected.csv with ImageMagick 6
# (Debian 12's 6.9.11-60 Q16). Every image is drawn from gradients and shapes here: no photo.
# expected.csv: file,width,height,channels,decoded_rgb_md5 where decoded_rgb_md5 is the MD5
# of `convert FILE[0] -depth 8 rgb:-` (8-bit R,G,B interleaved, alpha dropped, grey expanded),
# the same definition as the PDQ vectors' column, and channels is what scanner::decode
# returns (1 = grey, 3 = RGB; OpenCV reads grey8.bmp's 8-bit palette as colour).
set -euo pipefail
cd "$(dirname "$0")"

# The base picture: a colour gradient crossed by a few flat shapes, 64x48.
base() {
  convert -size 64x48 gradient:'#ff2000-#0030ff' \
    \( -size 48x64 gradient:'#00ff00-#200020' -rotate 90 \) -compose multiply -composite \
    -fill '#f0e040' -draw 'circle 20,20 28,26' -fill '#101010' -draw 'rectangle 40,8 58,30' \
    -compose over -depth 8 -define png:exclude-chunks=date,time "$@"
}

# A 16-bit picture: products of two gradients take values that are not multiples of 257, so
# reducing them to 8 bits is tested for real.
grad16() {
  convert -size 64x48 gradient:'#000000-#ff8040' \
    \( -size 48x64 gradient:'#20ff00-#0000c0' -rotate 90 \) -compose multiply -composite \
    -compose over -depth 16 -define png:exclude-chunks=date,time "$@"
}

base PNG24:rgb.png
base -colorspace gray -define png:color-type=0 png:grey.png
grad16 PNG48:rgb16.png
grad16 -colorspace gray -define png:color-type=0 png:grey16.png
grad16 -colorspace gray \( +clone -fill black -colorize 100 -fill white -draw 'circle 32,24 32,4' \) \
  -alpha off -compose copy_opacity -composite -define png:color-type=4 png:grey_alpha16.png
grad16 \( +clone -fill black -colorize 100 -fill white -draw 'circle 32,24 32,4' \) \
  -alpha off -compose copy_opacity -composite PNG64:rgba16.png
base -colorspace gray -threshold 50% -depth 1 -type bilevel png:grey1.png
base -colors 200 PNG8:palette.png
# RGBA with a fully transparent square whose stored colour is pure red (as the vectors' g12).
base \( +clone -alpha extract -fill black -draw 'rectangle 4,28 20,44' \) \
  -fill red -draw 'rectangle 4,28 20,44' -alpha off -compose copy_opacity -composite PNG32:rgba.png
base -colorspace gray \( +clone -fill black -colorize 100 -fill white -draw 'circle 32,24 32,4' \) \
  -alpha off -compose copy_opacity -composite -depth 8 -define png:color-type=4 png:grey_alpha.png
base -transparent '#101010' PNG8:palette_trns.png
base -interlace PNG PNG24:interlaced.png
convert -size 1x1 xc:'#336699' -define png:exclude-chunks=date,time PNG24:one.png
convert -size 4x4 gradient:'#000000-#ffffff' -define png:exclude-chunks=date,time PNG24:four.png

base -quality 90 -sampling-factor 2x2 jpg:rgb.jpg
base -quality 90 -sampling-factor 1x1 -interlace JPEG jpg:progressive.jpg
base -colorspace gray -quality 90 jpg:grey.jpg
base -colorspace CMYK -quality 90 jpg:cmyk.jpg
convert -size 1x1 xc:'#336699' -quality 95 jpg:one.jpg

base -define webp:lossless=true webp:lossless.webp
base -quality 80 webp:lossy.webp
base \( +clone -alpha extract -fill black -draw 'rectangle 4,28 20,44' \) -alpha off \
  -compose copy_opacity -composite -define webp:lossless=true webp:alpha.webp

base BMP3:rgb24.bmp
base -colors 16 -type palette BMP3:palette4.bmp
base -colors 200 -type palette BMP3:palette8.bmp
base -colorspace gray -type grayscale BMP3:grey8.bmp

base -compress none -endian LSB tiff:rgb_le.tiff
base -compress lzw -endian MSB tiff:rgb_be.tiff
base -colorspace gray -compress none tiff:grey.tiff
grad16 -compress zip tiff:rgb16.tiff

base -colors 32 gif:still.gif
# Three frames (the CLI test checks "frames"); not in expected.csv, which lists still images.
convert -delay 10 -loop 0 -size 64x48 gradient:'#ff0000-#0000ff' \
  \( -size 48x64 gradient:'#00ff00-#000000' -rotate 90 \) \
  \( -size 64x48 xc:'#808080' -fill white -draw 'circle 32,24 32,8' \) -colors 32 gif:anim.gif

{
  echo "file,width,height,channels,decoded_rgb_md5"
  for f in rgb.png:3 rgb16.png:3 grey.png:1 grey16.png:1 grey_alpha16.png:1 rgba16.png:3 grey1.png:1 palette.png:3 rgba.png:3 \
    grey_alpha.png:1 palette_trns.png:3 interlaced.png:3 one.png:3 four.png:3 \
    rgb.jpg:3 progressive.jpg:3 grey.jpg:1 cmyk.jpg:3 one.jpg:3 \
    lossless.webp:3 lossy.webp:3 alpha.webp:3 \
    rgb24.bmp:3 palette4.bmp:3 palette8.bmp:3 grey8.bmp:3 \
    rgb_le.tiff:3 rgb_be.tiff:3 grey.tiff:1 rgb16.tiff:3 still.gif:3; do
    file=${f%:*}
    size=$(identify -format '%w,%h' "$file[0]")
    md5=$(convert "$file[0]" -depth 8 rgb:- | md5sum | cut -d' ' -f1)
    echo "$file,$size,${f#*:},$md5"
  done
} >expected.csv
