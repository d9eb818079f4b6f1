// One `hashguard serve` per data directory, and the embedded PostgreSQL it keeps running
// (issue 15): a second serve on the directory refuses, naming the first one's pid; a CLI
// command attaches while serve runs and leaves the server running; a postmaster killed under
// serve is restarted by it; serve stops the server when it exits with nobody else attached.
#include "system_support.hpp"

using namespace hg_sys;

namespace {

const std::string admin = "admin-key-for-data-dir-0123456789abc";

std::vector<std::string> serve_args(const fs::path& data) {
  return serve_command({"--data-dir=" + data.string(), "--auth-bootstrap-key=" + admin,
                        "--auth-refresh-ms=50", "--http-log-requests=false"});
}

/// The live postmaster of the embedded server in `data` (0 when none).
long postmaster_of(const fs::path& data) {
  hashguard::hashdb::server_options o;
  o.data_dir = data;
  return hashguard::hashdb::embedded_postmaster(o);
}

bool lists_answer(std::uint16_t port) {
  auto r = call(port, "GET", "/v1/lists", admin);
  return r && r->status == 200;
}

}  // namespace

TEST_CASE("serve owns its data directory: one serve, CLI commands attach, a dead server restarts") {
  // The postmaster is started by serve through pg_ctl, which leaves it an orphan: as a
  // subreaper this test becomes its parent, so the postmaster it kills can be reaped here
  // rather than linger as a zombie that holds its lock file (where PID 1 does not reap).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sys_dir dir("data-dir");
  const fs::path data = dir.path / "data";
  serve_process first(serve_args(data));
  const long pm = postmaster_of(data);
  REQUIRE(pm > 0);
  REQUIRE(lists_answer(first.port()));

  // A second serve on the same directory refuses at once, naming the owner's pid.
  {
    auto args = serve_args(data);
    const hg_test::child_process c = hg_test::spawn_process(args);
    // A serve that did start would run on: read until it listens or ends, then stop it.
    const std::string out = hg_test::read_until(c.out, "listening on", 60s);
    if (out.find("listening on") != std::string::npos) ::kill(c.pid, SIGKILL);
    const std::string err = hg_test::read_all(c.err);
    ::close(c.out);
    ::close(c.err);
    int status = 0;
    REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(err.find("pid " + std::to_string(first.pid())) != std::string::npos);
    CHECK(out.find("listening on") == std::string::npos);
  }
  CHECK(postmaster_of(data) == pm);  // untouched by the refused serve
  REQUIRE(lists_answer(first.port()));

  // A CLI command attaches to the running server and leaves it running; serve sees its work.
  const auto [rc, key] =
      run_cli({"keys", "create", "from-cli", "--role", "admin", "--data-dir=" + data.string()});
  REQUIRE(rc == 0);
  std::string cli_key = key;
  while (!cli_key.empty() && (cli_key.back() == '\n' || cli_key.back() == '\r')) {
    cli_key.pop_back();
  }
  CHECK(postmaster_of(data) == pm);
  CHECK(eventually(
      [&] {
        auto r = call(first.port(), "GET", "/v1/lists", cli_key);
        return r && r->status == 200;
      },
      60s));

  // The postmaster killed under serve: serve starts it again and answers from it.
  REQUIRE(::kill(static_cast<pid_t>(pm), SIGKILL) == 0);
  REQUIRE(eventually(
      [&] {
        int status = 0;
        ::waitpid(static_cast<pid_t>(pm), &status, WNOHANG);
        return ::kill(static_cast<pid_t>(pm), 0) != 0;
      },
      60s));
  CHECK(eventually([&] { return postmaster_of(data) > 0 && postmaster_of(data) != pm; }, 120s,
                   100ms));
  CHECK(eventually([&] { return lists_answer(first.port()); }, 120s, 200ms));
  // (Said once pg_ctl returns, which may be a moment after the server answers.)
  CHECK(eventually([&] { return first.err_text().find("restarted") != std::string::npos; }, 60s));

  // serve stops the server it owns when it exits with nobody else attached.
  const auto exit = first.stop(SIGTERM);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(postmaster_of(data) == 0);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}
