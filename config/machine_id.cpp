// Default client id from /etc/machine-id, the hostname as the fallback.
#include "config/machine_id.hpp"

#include <unistd.h>

#include <cctype>
#include <fstream>

namespace kaa::config {
namespace {

constexpr size_t kIdDigits = 12;

/// The first kIdDigits of a machine id file (32 lowercase hex digits), or "" when it is not one.
std::string machine_id_prefix(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        return "";
    if (line.size() < 32)
        return "";
    for (size_t i = 0; i < 32; ++i)
        if (!std::isxdigit(static_cast<unsigned char>(line[i])))
            return "";
    std::string prefix = line.substr(0, kIdDigits);
    for (char& c : prefix)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (prefix.find_first_not_of('0') == std::string::npos)
        return "";  // an all-zero id is an uninitialised image, not a unique one
    return prefix;
}

}  // namespace

std::string default_client_id(const std::string& machine_id_path) {
    if (std::string id = machine_id_prefix(machine_id_path); !id.empty())
        return "kaa-gw-" + id;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
        return "kaa-gw-unknown";
    return std::string("kaa-gw-") + host;
}

}  // namespace kaa::config
