# Every external dependency is found here, from Debian 12 packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)
# libcrypto for SHA-256 of raw pages (already loaded by libcurl and libpq: no new library at run time).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(RapidJSON REQUIRED)
find_package(tl-expected REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp REQUIRED)
# libpqxx 6.4 and cpp-httplib 0.11 ship no CMake config on Debian 12.
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
if(ETL_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
