// The learnt cuts survive a restart: a poller learns them, the gateway's file keeps them,
// and the poller of the next run starts with the fewest requests and no refusal.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "daemon/learned_cuts_file.hpp"
#include "drivers/modbus/meter_poller.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/holey_meter.hpp"

namespace kaa {
namespace {

namespace fs = std::filesystem;
using config::RegisterFunction;

class LearnedCutsFile : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "kaa-cuts-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        path_ = learned_cuts_path((fs::path(dir_) / "buffer.db").string());
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& text) { std::ofstream(path_) << text; }

    std::string dir_;
    std::string path_;
};

config::MeterConfig holey_meter_config() {
    config::MeterConfig meter;
    meter.name = "sdm630";
    meter.bus = "rs485-1";
    meter.unit = 4;
    meter.max_gap = 20;
    for (int a : {0, 2, 4, 12, 14, 30, 32}) {
        config::RegisterConfig r;
        r.name = "v" + std::to_string(a);
        r.address = a;
        r.function = RegisterFunction::kInput;
        r.type = config::ValueType::kFloat32;
        meter.registers.push_back(r);
    }
    return meter;
}

TEST_F(LearnedCutsFile, ALearntPlanSurvivesARestart) {
    const config::MeterConfig meter = holey_meter_config();
    config::BusConfig bus;
    bus.name = meter.bus;
    bus.retries = 0;
    fakes::FakeClock clock;
    fakes::HoleyMeter device(meter.registers);
    const auto wait = [](Clock::Monotonic) { return true; };

    size_t learnt_plan = 0;
    {  // the first run learns, and the gateway writes the file
        modbus::LearnedCuts learned;
        modbus::MeterPoller poller(0, meter, bus.name, clock, &learned);
        modbus::BusLine line(bus, device, clock, wait);
        ASSERT_TRUE(poller.poll(line).sample);
        ASSERT_GT(device.refusals, 0);
        learnt_plan = poller.plan().size();
        ASSERT_TRUE(save_learned_cuts(path_, learned.snapshot()).ok());
    }
    EXPECT_EQ(learnt_plan, 3u);  // 0..5, 12..15, 30..33

    device.requests = 0;
    device.refusals = 0;
    auto loaded = load_learned_cuts(path_);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    modbus::LearnedCuts learned;
    learned.replace(loaded.value());
    modbus::MeterPoller poller(0, meter, bus.name, clock, &learned);
    EXPECT_EQ(poller.plan().size(), learnt_plan);
    modbus::BusLine line(bus, device, clock, wait);
    ASSERT_TRUE(poller.poll(line).sample);
    EXPECT_EQ(device.refusals, 0);
    EXPECT_EQ(static_cast<size_t>(device.requests), learnt_plan);
}

TEST_F(LearnedCutsFile, AnAbsentFileIsAnEmptyTableAndADamagedOneAnError) {
    auto absent = load_learned_cuts(path_);
    ASSERT_TRUE(absent.ok());
    EXPECT_TRUE(absent.value().empty());
    for (const char* text : {"not json", "{\"version\": 2, \"meters\": {}}",
                             "{\"version\": 1, \"meters\": {\"m@b/1\": 5}}",
                             "{\"version\": 1, \"meters\": {\"m@b/1\": [{\"function\": \"x\", "
                             "\"address\": 1}]}}",
                             "{\"version\": 1, \"meters\": {\"m@b/1\": [{\"function\": "
                             "\"input\", \"address\": 70000}]}}"}) {
        write(text);
        auto damaged = load_learned_cuts(path_);
        ASSERT_FALSE(damaged.ok()) << text;
        EXPECT_NE(damaged.error().message.find(path_), std::string::npos);
    }
}

TEST_F(LearnedCutsFile, WritingReplacesTheFileWhole) {
    modbus::LearnedCuts::Table table;
    table["a@b/1"] = {{RegisterFunction::kHolding, 7}, {RegisterFunction::kInput, 65535}};
    ASSERT_TRUE(save_learned_cuts(path_, table).ok());
    table.erase("a@b/1");
    table["c@b/2"] = {{RegisterFunction::kCoil, 3}};
    ASSERT_TRUE(save_learned_cuts(path_, table).ok());
    auto loaded = load_learned_cuts(path_);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.value(), table);
    EXPECT_FALSE(fs::exists(path_ + ".tmp"));
    EXPECT_FALSE(save_learned_cuts((fs::path(dir_) / "no/such/dir/x").string(), table).ok());
}

}  // namespace
}  // namespace kaa
