// LeakSanitizer suppressions for every program that reaches PostgreSQL through hashdb (the
// hashguard executable and the test executables that link hg::hashdb_lsan; only consulted in
// the HG_SANITIZE build, a plain symbol otherwise).
//
// libpqxx 6.4.5 does not free libpq's PGresult when a statement fails because the server went
// away: about 200 bytes plus a 2 KiB block per broken connection, allocated entirely inside
// libpq/libpqxx. serve outlives database outages on purpose, and the outage tests stop
// PostgreSQL under it, so their exits would report them. A leak of ours has our frames on its
// stack and is still reported.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() {
  return "leak:PQmakeEmptyPGresult\n";
}
