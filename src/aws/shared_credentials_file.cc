// The shared credentials file: INI parsing and profile lookup. Nothing here
// logs or returns a secret in a message. Thread-safe.
#include "aws/shared_credentials_file.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "core/small_file.h"
#include "core/strings.h"

namespace headcount::aws {
namespace {

constexpr std::string_view kDefaultProfile = "default";

// A file that holds a secret key should be readable by its owner only (the
// AWS CLI writes it 0600). Warns, naming the file and never its content.
void WarnIfReadableByOthers(const std::string& path) {
  using std::filesystem::perms;
  std::error_code ec;
  const perms mode = std::filesystem::status(path, ec).permissions();
  if (ec || (mode & (perms::group_read | perms::others_read)) == perms::none) return;
  spdlog::warn(
      "aws: the shared credentials file {} holds a secret key but other users can read it "
      "(mode {:04o}); run: chmod 600 {}",
      path, static_cast<unsigned>(mode & perms::mask), path);
}

// Where the file is: nullopt when neither AWS_SHARED_CREDENTIALS_FILE nor
// HOME is set.
Result<std::optional<std::string>> SharedFilePath(const Environment& env) {
  if (std::optional<std::string> path = env("AWS_SHARED_CREDENTIALS_FILE")) {
    if (path->starts_with("~/")) {
      std::optional<std::string> home = env("HOME");
      if (!home) {
        return Error::InvalidArgument("AWS_SHARED_CREDENTIALS_FILE uses ~ but HOME is unset");
      }
      *path = *home + path->substr(1);
    }
    return path;
  }
  if (std::optional<std::string> home = env("HOME")) {
    return std::optional<std::string>(*home + "/.aws/credentials");
  }
  return std::optional<std::string>();
}

}  // namespace

Result<IniProfiles> ParseIni(std::string_view text) {
  IniProfiles profiles;
  std::map<std::string, std::string>* section = nullptr;
  std::string* last_value = nullptr;  // the property an indented line continues
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const std::string_view line = Trim(raw);
    const auto error = [&](std::string_view what) {
      return Error::InvalidArgument("line " + std::to_string(line_number) + ": " +
                                    std::string(what));
    };
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (raw.front() == ' ' || raw.front() == '\t') {
      if (last_value == nullptr) return error("indented line continues no property");
      *last_value += '\n';
      *last_value += line;
      continue;
    }
    if (line.front() == '[') {
      const std::size_t close = line.find(']');
      if (close == std::string_view::npos) return error("section header without ']'");
      const std::string_view name = Trim(line.substr(1, close - 1));
      if (name.empty()) return error("empty section name");
      section = &profiles[std::string(name)];
      last_value = nullptr;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return error("expected 'key = value'");
    if (section == nullptr) return error("property before any [section]");
    const std::string key = AsciiLower(Trim(line.substr(0, eq)));
    if (key.empty()) return error("property without a name");
    std::string& value = (*section)[key];
    value = std::string(Trim(line.substr(eq + 1)));
    last_value = &value;
  }
  return profiles;
}

Result<std::optional<Credentials>> CredentialsFromSharedFile(const Environment& env) {
  Result<std::optional<std::string>> where = SharedFilePath(env);
  if (!where.ok()) return where.error();
  if (!*where) return std::optional<Credentials>();
  const std::string& path = **where;
  const std::optional<std::string> named_profile = env("AWS_PROFILE");
  const std::string profile = named_profile.value_or(std::string(kDefaultProfile));

  Result<std::string> text = ReadSmallFile(path, kMaxSharedFileBytes);
  if (!text.ok()) {
    if (text.error().code() != ErrorCode::kNotFound) {
      return Error::Io("cannot read the shared credentials file: " + text.error().message());
    }
    if (named_profile) {
      return Error::NotFound("AWS_PROFILE is \"" + profile + "\" but " + path + " does not exist");
    }
    return std::optional<Credentials>();
  }
  Result<IniProfiles> profiles = ParseIni(*text);
  if (!profiles.ok()) {
    return Error::InvalidArgument("shared credentials file " + path + ": " +
                                  profiles.error().message());
  }
  auto it = profiles->find(profile);
  if (it == profiles->end()) {
    if (named_profile) {
      return Error::NotFound("profile \"" + profile + "\" (AWS_PROFILE) is not in " + path);
    }
    return std::optional<Credentials>();
  }
  const auto& values = it->second;
  auto key = values.find("aws_access_key_id");
  auto secret = values.find("aws_secret_access_key");
  if (key == values.end() || secret == values.end() || key->second.empty() ||
      secret->second.empty()) {
    return Error::InvalidArgument("profile \"" + profile + "\" in " + path +
                                  " lacks aws_access_key_id or aws_secret_access_key (role, "
                                  "SSO and credential_process profiles are not supported)");
  }
  WarnIfReadableByOthers(path);
  auto token = values.find("aws_session_token");
  return std::optional<Credentials>(Credentials(
      key->second, secret->second, token == values.end() ? std::string() : token->second));
}

}  // namespace headcount::aws
