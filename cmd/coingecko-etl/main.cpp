// The process: harden it, block the shutdown signals before any thread exists, and run the
// application (internal/app) under the shutdown watchdog. Nothing else lives here.
#include "build_info.hpp"

#include "app/app.hpp"
#include "app/signals.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include <sys/prctl.h>
#include <sys/resource.h>

// A core dump would hold the API key and the database password in clear: none is written, and
// the process is not dumpable (no ptrace attach or /proc/<pid>/mem by other same-uid processes).
static void disable_core_dumps() {
  const rlimit none{0, 0};
  (void)::setrlimit(RLIMIT_CORE, &none);
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char** argv) {
  disable_core_dumps();
  etl::app::block_shutdown_signals();
  try {
    // Lives until main returns: the shutdown deadline covers every destructor.
    etl::app::ShutdownWatchdog watchdog;
    const int code =
        etl::app::run(argc, argv, watchdog, {etl::build::kVersion, etl::build::kRevision});
    spdlog::default_logger()->flush();
    return code;
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  }
}
