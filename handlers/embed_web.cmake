# Writes OUT, a C++ source holding every file of WEB_DIR (flat) as bytes, for
# handlers::embedded_ui_files() (ui.hpp). Run at build time by handlers/CMakeLists.txt.
file(GLOB files LIST_DIRECTORIES false RELATIVE ${WEB_DIR} ${WEB_DIR}/*)
list(SORT files)
set(arrays "")
set(entries "")
set(n 0)
foreach(name IN LISTS files)
  if(name MATCHES "^\\.")
    continue()
  endif()
  file(READ ${WEB_DIR}/${name} hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND arrays "const char file_${n}[] = {${bytes} 0};\n")
  string(APPEND entries "      {\"${name}\", std::string_view(file_${n}, ${size})},\n")
  math(EXPR n "${n} + 1")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from web/ by handlers/embed_web.cmake; edit web/, not this file.
#include \"hashguard/handlers/ui.hpp\"

namespace hashguard::handlers {
namespace {
${arrays}}  // namespace

const std::map<std::string, std::string_view, std::less<>>& embedded_ui_files() {
  static const std::map<std::string, std::string_view, std::less<>> files{
${entries}  };
  return files;
}

}  // namespace hashguard::handlers
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
