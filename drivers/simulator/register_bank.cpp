#include "drivers/simulator/register_bank.hpp"

#include <algorithm>

#include "drivers/simulator/modbus_frame.hpp"

namespace kaa::sim {
namespace {

using config::RegisterFunction;

bool truthy(const modbus::Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b;
    }
    if (const auto* i = std::get_if<int64_t>(&v)) {
        return *i != 0;
    }
    if (const auto* u = std::get_if<uint64_t>(&v)) {
        return *u != 0;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return *d != 0.0;
    }
    return !std::get<std::string>(v).empty();
}

RegisterFunction table_of(uint8_t function) {
    switch (function) {
        case kReadCoils:
        case kWriteSingleCoil:
        case kWriteMultipleCoils:
            return RegisterFunction::kCoil;
        case kReadDiscreteInputs:
            return RegisterFunction::kDiscrete;
        case kReadInputRegisters:
            return RegisterFunction::kInput;
        default:
            return RegisterFunction::kHolding;
    }
}

uint32_t span_of(const config::RegisterConfig& reg) {
    if (config::is_bit_function(reg.function)) {
        return 1;
    }
    return static_cast<uint32_t>(std::max(1, config::register_count(reg.type, reg.length)));
}

bool overlaps(const config::RegisterConfig& reg, uint32_t address, uint32_t count) {
    const uint32_t start = reg.address;
    return start < address + count && address < start + span_of(reg);
}

}  // namespace

RegisterBank::RegisterBank(const config::SimUnitConfig& unit, const Clock& clock)
    : clock_(clock), start_(clock.now()), illegal_holes_(unit.illegal_holes) {
    for (const auto& r : unit.registers) {
        ValueModel model(r);
        store(r.reg, model.at(0.0));
        if (model.moving()) {
            moving_.push_back({r.reg, model});
        }
    }
}

void RegisterBank::store(const config::RegisterConfig& reg, const modbus::Value& value) {
    Table& t = table(reg.function);
    if (config::is_bit_function(reg.function)) {
        t[reg.address] = truthy(value) ? 1 : 0;
        return;
    }
    const std::vector<uint16_t> words = modbus::encode_words(reg, value);
    for (size_t i = 0; i < words.size() && reg.address + i <= 0xFFFF; ++i) {
        t[static_cast<uint16_t>(reg.address + i)] = words[i];
    }
}

void RegisterBank::refresh(RegisterFunction f, uint32_t address, uint32_t count) {
    if (moving_.empty()) {
        return;
    }
    const double elapsed = std::chrono::duration<double>(clock_.now() - start_).count();
    for (const auto& m : moving_) {
        if (m.reg.function == f && overlaps(m.reg, address, count)) {
            store(m.reg, m.model.at(elapsed));
        }
    }
}

void RegisterBank::pin(RegisterFunction f, uint32_t address, uint32_t count) {
    refresh(f, address, count);
    std::erase_if(moving_, [&](const Moving& m) {
        return m.reg.function == f && overlaps(m.reg, address, count);
    });
}

bool RegisterBank::has_hole(RegisterFunction f, uint32_t address, uint32_t count) {
    const Table& t = table(f);
    for (uint32_t a = address; a < address + count; ++a) {
        if (!t.contains(static_cast<uint16_t>(a))) {
            return true;
        }
    }
    return false;
}

std::vector<uint16_t> RegisterBank::read(RegisterFunction f, uint16_t address, uint16_t count) {
    const uint32_t n = std::min<uint32_t>(count, 0x10000u - address);
    refresh(f, address, n);
    const Table& t = table(f);
    std::vector<uint16_t> out(n, 0);
    for (uint32_t i = 0; i < n; ++i) {
        const auto it = t.find(static_cast<uint16_t>(address + i));
        if (it != t.end()) {
            out[i] = it->second;
        }
    }
    return out;
}

std::vector<uint8_t> RegisterBank::handle(std::span<const uint8_t> pdu) {
    const ParsedRequest parsed = parse_request(pdu);
    const Request& r = parsed.request;
    if (parsed.exception != 0) {
        return exception_response(r.function, parsed.exception);
    }
    const RegisterFunction f = table_of(r.function);
    if (static_cast<uint32_t>(r.address) + r.quantity > 0x10000u ||
        (illegal_holes_ && has_hole(f, r.address, r.quantity))) {
        return exception_response(r.function, kIllegalDataAddress);
    }
    switch (r.function) {
        case kReadCoils:
        case kReadDiscreteInputs: {
            const std::vector<uint16_t> entries = read(f, r.address, r.quantity);
            std::vector<uint8_t> bits(entries.begin(), entries.end());
            return bits_response(r.function, bits);
        }
        case kReadHoldingRegisters:
        case kReadInputRegisters:
            return registers_response(r.function, read(f, r.address, r.quantity));
        default: {
            pin(f, r.address, r.quantity);
            Table& t = table(f);
            for (size_t i = 0; i < r.values.size(); ++i) {
                t[static_cast<uint16_t>(r.address + i)] = r.values[i];
            }
            return write_response(r);
        }
    }
}

size_t RegisterBank::stored_entries() const {
    size_t n = 0;
    for (const auto& t : tables_) {
        n += t.size();
    }
    return n;
}

}  // namespace kaa::sim
