// ByteBudget: takes up to its limit and no further, gives back, and holds under concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/byte_budget.hpp"

namespace kaa {
namespace {

TEST(ByteBudget, TakesUpToTheLimitAndNoFurther) {
    ByteBudget budget(100);
    EXPECT_TRUE(budget.take(60));
    EXPECT_FALSE(budget.take(41));
    EXPECT_EQ(budget.used(), 60u) << "a refused take takes nothing";
    EXPECT_TRUE(budget.take(40));
    EXPECT_FALSE(budget.take(1));
    budget.give_back(60);
    EXPECT_EQ(budget.used(), 40u);
    EXPECT_TRUE(budget.take(60));
    EXPECT_FALSE(budget.take(static_cast<size_t>(-1)));
    ByteBudget tiny(10);
    EXPECT_FALSE(tiny.take(11)) << "larger than the whole budget";
}

TEST(ByteBudget, ProducersAndAConsumerNeverGoOverTheLimit) {
    ByteBudget budget(10'000);
    std::atomic<bool> over{false};
    std::atomic<size_t> queued{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < 3; ++t) {
        producers.emplace_back([&] {
            for (int i = 0; i < 20'000; ++i) {
                if (budget.take(100)) {
                    queued += 100;
                    if (budget.used() > 10'000)
                        over = true;
                }
            }
        });
    }
    std::thread consumer([&] {
        for (int i = 0; i < 200'000; ++i) {
            size_t q = queued.load();
            if (q >= 100 && queued.compare_exchange_weak(q, q - 100))
                budget.give_back(100);
        }
    });
    for (auto& p : producers)
        p.join();
    consumer.join();
    EXPECT_FALSE(over);
    EXPECT_EQ(budget.used(), queued.load());
}

}  // namespace
}  // namespace kaa
