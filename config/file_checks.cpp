// Checks of the files a configuration names.
#include "config/file_checks.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <vector>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "config/yaml_reader.hpp"

namespace kaa::config {
namespace {

/// The first bytes of the file (up to `limit`), or the errno of the failure.
int read_head(const std::string& path, std::string& head, size_t limit) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr)
        return errno;
    head.resize(limit);
    head.resize(std::fread(head.data(), 1, limit, f));
    const int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    return err;
}

/// The octal text of a mode's permission bits ("0640").
std::string mode_text(mode_t mode) {
    std::array<char, 8> out{};
    std::snprintf(out.data(), out.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return out.data();
}

/// "owner:group" of a file, by name where the names are known.
std::string owner_text(const struct stat& st) {
    const passwd* pw = ::getpwuid(st.st_uid);
    const group* gr = ::getgrgid(st.st_gid);
    return (pw != nullptr ? std::string(pw->pw_name) : std::to_string(st.st_uid)) + ":" +
           (gr != nullptr ? std::string(gr->gr_name) : std::to_string(st.st_gid));
}

/// Whether uid (with groups) has the permission `bit` (4 read, 1 search) on st.
bool permitted(const struct stat& st, uid_t uid, const std::vector<gid_t>& groups, int bit) {
    if (st.st_uid == uid)
        return (st.st_mode >> 6 & bit) != 0;
    for (gid_t g : groups) {
        if (st.st_gid == g)
            return (st.st_mode >> 3 & bit) != 0;
    }
    return (st.st_mode & bit) != 0;
}

}  // namespace

std::string unreadable_by_user(const std::string& path, const std::string& user) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr || pw->pw_uid == 0)
        return "";
    const uid_t uid = pw->pw_uid;
    int count = 64;
    std::vector<gid_t> groups(static_cast<size_t>(count));
    if (::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<size_t>(count));
        ::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count);
    }
    groups.resize(static_cast<size_t>(count));
    std::error_code ec;
    const std::filesystem::path file = std::filesystem::absolute(path, ec);
    if (ec)
        return "";
    for (auto dir = file.parent_path(); !dir.empty(); dir = dir.parent_path()) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && !permitted(st, uid, groups, 1)) {
            return "cannot be read by the service user " + user + ": its directory '" +
                   dir.string() + "' (" + owner_text(st) + ", mode " + mode_text(st.st_mode) +
                   ") does not let it in; run chmod o+x '" + dir.string() +
                   "' or move the file to a directory it can enter";
        }
        if (dir == dir.root_path())
            break;
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || permitted(st, uid, groups, 4))
        return "";
    return "cannot be read by the service user " + user + " (" + owner_text(st) + ", mode " +
           mode_text(st.st_mode) + "); run chgrp " + user + " '" + path + "' && chmod g+r '" +
           path + "'";
}

bool check_named_file(const MapReader& reader, std::string_view key, const std::string& path,
                      FileKind kind, bool missing_is_error) {
    const std::string quoted = "'" + path + "'";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        const std::string what = err == ENOENT
                                     ? quoted + " does not exist"
                                     : quoted + " cannot be checked: " + std::strerror(err);
        if (missing_is_error)
            reader.fail(key, what);
        else
            reader.warn(key, what + "; the daemon will not start until it does");
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        reader.fail(key, quoted + " is not a regular file");
        return false;
    }
    std::string head;
    if (const int err = read_head(path, head, 64 * 1024); err != 0) {
        reader.fail(key, quoted + " cannot be read by this user (uid " +
                             std::to_string(::geteuid()) + "): " + std::strerror(err));
        return false;
    }
    if (kind != FileKind::kPassword && head.find("-----BEGIN ") == std::string::npos) {
        reader.fail(key, quoted + " is not a PEM file (no '-----BEGIN' line" +
                             std::string(kind == FileKind::kPemKey ? "" : " in its first 64 KiB") +
                             ")");
        return false;
    }
    if (kind != FileKind::kPem && (st.st_mode & S_IROTH) != 0) {
        reader.warn(key, quoted +
                             " is readable by every user, and it is a secret; run chmod o-r '" +
                             path + "'");
    }
    return true;
}

}  // namespace kaa::config
