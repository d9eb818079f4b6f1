# Writes OUT, a C++ fragment listing every migration of SQL_DIR as
#   {version, "name", R"hg_sql(<the file's text>)hg_sql"},
# in version order, for the table in src/migrations.cpp. Run at build time by
# hashdb/CMakeLists.txt. A file NNNN_name.sql is migration NNNN named `name`: the file names are
# the only place a number or a name is written, and the count is however many files there are.
# Files must be numbered 1..N without gaps; anything else under SQL_DIR ending in .sql fails the
# build.
file(GLOB files LIST_DIRECTORIES false RELATIVE ${SQL_DIR} ${SQL_DIR}/*.sql)
list(SORT files)
set(entries "")
set(expected 1)
foreach(file_name IN LISTS files)
  if(NOT file_name MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "hashdb/sql/${file_name}: a migration is named NNNN_name.sql "
                        "(four digits, then lower-case letters, digits and _)")
  endif()
  set(name ${CMAKE_MATCH_2})
  math(EXPR version "${CMAKE_MATCH_1}")  # drops the leading zeros
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "hashdb/sql/${file_name}: expected migration ${expected} here; "
                        "migrations are numbered 1..N without gaps or repeats")
  endif()
  file(READ ${SQL_DIR}/${file_name} sql)
  string(FIND "${sql}" ")hg_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "hashdb/sql/${file_name} contains the raw-string delimiter )hg_sql\"")
  endif()
  string(APPEND entries "{${version}, \"${name}\", R\"hg_sql(${sql})hg_sql\"},\n")
  math(EXPR expected "${expected} + 1")
endforeach()
if(expected EQUAL 1)
  message(FATAL_ERROR "no migration found in ${SQL_DIR}")
endif()
file(WRITE ${OUT}.tmp "// Generated from hashdb/sql/ by hashdb/embed_migrations.cmake; edit hashdb/sql/.
${entries}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
