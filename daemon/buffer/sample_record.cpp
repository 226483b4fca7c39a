// Readings -> the buffer's record (a JSON object, null for a value that was not read).
#include "daemon/buffer/sample_record.hpp"

#include <nlohmann/json.hpp>

namespace kaa::buffer {

std::string encode_record(const std::vector<Reading>& readings) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const Reading& reading : readings) {
        if (reading.quality != Quality::kGood) {
            object[reading.name] = nullptr;
            continue;
        }
        std::visit([&](const auto& v) { object[reading.name] = v; }, reading.value);
    }
    return object.dump();
}

BufferedSample to_buffered(const Sample& sample) {
    return BufferedSample{sample.meter_index, sample.read_ms, encode_record(sample.readings)};
}

}  // namespace kaa::buffer
