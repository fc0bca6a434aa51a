# cmake -P script behind the `format` and `format-check` targets (cmake/Format.cmake).
#   -DCLANG_FORMAT=path -DSOURCE_DIR=dir -DLIST=file (one path per line, relative to SOURCE_DIR)
#   -DMODE=fix    rewrite in place
#   -DMODE=check  change nothing; list every file clang-format would change and fail
if(NOT MODE MATCHES "^(fix|check)$")
  message(FATAL_ERROR "RunFormat.cmake: MODE must be fix or check, not '${MODE}'")
endif()
file(STRINGS ${LIST} files)
if(MODE STREQUAL "fix")
  execute_process(COMMAND ${CLANG_FORMAT} -i ${files} WORKING_DIRECTORY ${SOURCE_DIR}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "clang-format failed (${rc})")
  endif()
  list(LENGTH files n)
  message(STATUS "format: ${n} files formatted")
  return()
endif()

# One clang-format per file: --dry-run --Werror exits non-zero when the file would change, and
# its per-line diagnostics are dropped, so the report is the list of files to format.
set(bad "")
foreach(f IN LISTS files)
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${f} WORKING_DIRECTORY ${SOURCE_DIR}
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  list(LENGTH bad n)
  list(JOIN bad "\n  " shown)
  message(FATAL_ERROR "format-check: ${n} file(s) differ from .clang-format "
    "(cmake --build <build> --target format rewrites them):\n  ${shown}")
endif()
list(LENGTH files n)
message(STATUS "format-check: ${n} files match .clang-format")
