#include "health/health_state.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::health {
namespace {

struct Row {
  uint32_t healthy_threshold;
  uint32_t unhealthy_threshold;
  bool starts_healthy;
  std::string observations;  // 'p' pass, 'f' fail
  std::string transitions;   // 'U' Unchanged, 'P' Pending, 'C' Changed, one per observation
  bool ends_healthy;
};

char letter(Transition t) {
  switch (t) {
    case Transition::Unchanged: return 'U';
    case Transition::Pending: return 'P';
    case Transition::Changed: return 'C';
  }
  return '?';
}

TEST(HealthState, FollowsThresholdsObservationByObservation) {
  const Row rows[] = {
      {2, 2, true, "pppp", "UUUU", true},
      {2, 2, true, "ff", "PC", false},
      {2, 2, true, "fpf", "PUP", true},       // a pass breaks the failure run
      {2, 2, true, "fffpp", "PCUPC", true},   // down after 2, back after 2
      {2, 2, false, "pfpp", "PUPC", true},    // a failure breaks the pass run
      {2, 3, true, "fffff", "PPCUU", false},
      {5, 2, true, "ffppppp", "PCPPPPC", true},
      {1, 1, true, "fpfp", "CCCC", true},
      {0, 0, true, "fp", "CC", true},         // zero thresholds act as 1
      {3, 2, false, "", "", false},
  };
  for (const Row& row : rows) {
    HealthState state(row.healthy_threshold, row.unhealthy_threshold, row.starts_healthy);
    std::string transitions;
    for (char c : row.observations) transitions += letter(state.observe(c == 'p'));
    EXPECT_EQ(transitions, row.transitions)
        << row.healthy_threshold << "/" << row.unhealthy_threshold << " " << row.observations;
    EXPECT_EQ(state.healthy(), row.ends_healthy) << row.observations;
  }
}

TEST(HealthState, StartsHealthyByDefault) {
  EXPECT_TRUE(HealthState(2, 2).healthy());
}

TEST(HealthState, CountsConsecutivePassesAndFailures) {
  HealthState state(2, 2);
  state.observe(false);
  state.observe(false);
  state.observe(false);
  EXPECT_EQ(state.consecutive_failures(), 3u);
  EXPECT_EQ(state.consecutive_passes(), 0u);
  state.observe(true);
  EXPECT_EQ(state.consecutive_failures(), 0u);
  EXPECT_EQ(state.consecutive_passes(), 1u);
}

TEST(HealthState, MarkUnhealthyTurnsItUnhealthyAtOnceAndNeedsHealthyThresholdPasses) {
  HealthState state(3, 2);
  state.observe(true);
  EXPECT_TRUE(state.mark_unhealthy());
  EXPECT_FALSE(state.healthy());
  EXPECT_EQ(state.consecutive_passes(), 0u);
  EXPECT_EQ(state.observe(true), Transition::Pending);
  EXPECT_EQ(state.observe(true), Transition::Pending);
  EXPECT_EQ(state.observe(true), Transition::Changed);
  EXPECT_TRUE(state.healthy());
}

TEST(HealthState, MarkUnhealthyWhileUnhealthyRestartsThePassRun) {
  HealthState state(2, 1);
  state.observe(false);
  state.observe(true);
  EXPECT_FALSE(state.mark_unhealthy());
  EXPECT_EQ(state.observe(true), Transition::Pending);
  EXPECT_EQ(state.observe(true), Transition::Changed);
}

TEST(HealthState, NewThresholdsJudgeTheNextObservation) {
  HealthState state(2, 5);
  state.observe(false);
  state.observe(false);
  state.set_thresholds(2, 3);
  EXPECT_EQ(state.observe(false), Transition::Changed);
}

}  // namespace
}  // namespace ferry::health
