# Finds the Debian 12 packages that scripts/install-deps installs (DESIGN.md section 10).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
find_package(OpenSSL REQUIRED)
# libpqxx 6.4.5 ships no CMake config: PkgConfig::PQXX, for hashdb (privately) and the tests and
# benchmarks that talk to PostgreSQL directly.
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
# libpq itself, for the few libpq calls hashdb makes directly (PQconninfoParse in redact_url).
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
# Image decoding (scanner).
find_package(libjpeg-turbo CONFIG REQUIRED)
find_package(PNG REQUIRED)
find_package(GIF REQUIRED)
find_package(TIFF REQUIRED)                                # TIFF::TIFF
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp)  # PkgConfig::WEBP
# Video decoding (scanner/src/video_decode.cpp): FFmpeg 5.1's libraries, Debian 12.
pkg_check_modules(LIBAV REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
# The video decoder worker's seccomp filter (scanner/src/video_sandbox.cpp).
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
# OpenCV is for the tests and benchmarks only (pHash and decoder parity against OpenCV itself):
# the service links none of it.
if(HG_BUILD_TESTS OR HG_BUILD_BENCHMARKS)
  find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs img_hash)
endif()
