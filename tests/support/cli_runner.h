#pragma once
// Runs the explicitlm binary like a user would and captures exit code, stdout and stderr.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace elm::testing {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
  // The last non-empty line of stdout.
  std::string last_line() const {
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
    return last;
  }
};

// Single-quotes an argument for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `launcher... explicitlm args...` (launcher: e.g. mpiexec -n 2; empty: the binary itself).
inline CliResult run_cli_with(const std::vector<std::string>& launcher, const std::vector<std::string>& args) {
  static int counter = 0;
  const auto err_path = std::filesystem::temp_directory_path() /
                        ("elm-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err");
  std::string cmd;
  for (const auto& a : launcher) cmd += shell_quote(a) + " ";
  cmd += shell_quote(ELM_CLI);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>" + shell_quote(err_path.string());
  CliResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_path);
  return r;
}

inline CliResult run_cli(const std::vector<std::string>& args) { return run_cli_with({}, args); }

}  // namespace elm::testing
