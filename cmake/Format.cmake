# `format` rewrites every C++ source of the project in place with clang-format (the style is
# .clang-format); `format-check` changes nothing and fails listing the files that would change.
# Sources are globbed like the targets' own, so a new file needs the configure step re-run.
find_program(ETL_CLANG_FORMAT NAMES clang-format-14 clang-format)
file(GLOB_RECURSE ETL_FORMAT_SOURCES CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}
  ${CMAKE_SOURCE_DIR}/cmd/*.cpp ${CMAKE_SOURCE_DIR}/cmd/*.hpp
  ${CMAKE_SOURCE_DIR}/internal/*.cpp ${CMAKE_SOURCE_DIR}/internal/*.hpp
  ${CMAKE_SOURCE_DIR}/tests/*.cpp ${CMAKE_SOURCE_DIR}/tests/*.hpp
  ${CMAKE_SOURCE_DIR}/tools/*.cpp ${CMAKE_SOURCE_DIR}/tools/*.hpp
  ${CMAKE_SOURCE_DIR}/fuzz/*.cpp ${CMAKE_SOURCE_DIR}/fuzz/*.hpp)
list(SORT ETL_FORMAT_SOURCES)
# A file, not a command line: the list outgrows no argument limit and the check script reads it.
set(ETL_FORMAT_LIST ${CMAKE_BINARY_DIR}/format-sources.txt)
list(JOIN ETL_FORMAT_SOURCES "\n" _etl_format_text)
file(WRITE ${ETL_FORMAT_LIST}.tmp "${_etl_format_text}\n")
file(COPY_FILE ${ETL_FORMAT_LIST}.tmp ${ETL_FORMAT_LIST} ONLY_IF_DIFFERENT)

if(ETL_CLANG_FORMAT)
  # -D before -P: cmake ignores definitions that follow the script.
  set(_etl_format_args -DCLANG_FORMAT=${ETL_CLANG_FORMAT} -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
    -DLIST=${ETL_FORMAT_LIST})
  set(_etl_format_script -P ${CMAKE_SOURCE_DIR}/cmake/RunFormat.cmake)
  add_custom_target(format COMMAND ${CMAKE_COMMAND} ${_etl_format_args} -DMODE=fix ${_etl_format_script}
    VERBATIM USES_TERMINAL COMMENT "clang-format: rewriting the project's C++ sources")
  add_custom_target(format-check
    COMMAND ${CMAKE_COMMAND} ${_etl_format_args} -DMODE=check ${_etl_format_script}
    VERBATIM USES_TERMINAL COMMENT "clang-format: checking the project's C++ sources")
else()
  set(_etl_no_format ${CMAKE_COMMAND} -E echo "clang-format not found: apt-get install clang-format")
  add_custom_target(format COMMAND ${_etl_no_format} COMMAND ${CMAKE_COMMAND} -E false VERBATIM)
  add_custom_target(format-check COMMAND ${_etl_no_format} COMMAND ${CMAKE_COMMAND} -E false VERBATIM)
endif()
