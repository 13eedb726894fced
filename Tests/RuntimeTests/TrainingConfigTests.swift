import Foundation
import Runtime
import Testing

@Suite struct TrainingConfigTests {
  @Test func aConfigRoundTripsThroughItsJSON() throws {
    var config = TrainingConfig()
    config.mode = "bilevel-unrolled"
    config.limit = 512
    config.seed = .max
    config.cropMinScale = 0.3
    let decoded = try JSONDecoder().decode(TrainingConfig.self, from: Data(config.json().utf8))
    #expect(decoded == config)
  }

  @Test func fieldsMissingFromAnOlderCheckpointTakeTheirDefaults() throws {
    let decoded = try JSONDecoder().decode(
      TrainingConfig.self, from: Data(#"{"mode": "fixed", "batch": 128}"#.utf8))
    #expect(decoded.mode == "fixed" && decoded.batch == 128)
    #expect(decoded.cropMinScale == TrainingConfig().cropMinScale)
    #expect(decoded.limit == nil)
  }

  @Test func resumeNamesEveryOptionThatDiffers() {
    var other = TrainingConfig()
    other.seed = 3
    other.cropMinScale = 0.5
    #expect(TrainingConfig().resumeMismatch(other) == "seed, crop-min-scale")
    #expect(TrainingConfig().resumeMismatch(TrainingConfig()) == nil)
    other = TrainingConfig()
    other.optimizer = "lars"
    other.temperature = 0.2
    other.innerMomentum = 0.5
    #expect(TrainingConfig().resumeMismatch(other) == "optimizer, temperature, inner-momentum")
  }

  @Test func theScalarInputsNameTheOptimizerByItsIndex() {
    var config = TrainingConfig()
    config.optimizer = "adamw"
    config.temperature = 0.2
    let scalars = config.scalarInputs(learningRate: 0.05)
    #expect(scalars["optimizer"] == 2 && scalars["lr"] == 0.05 && scalars["temperature"] == 0.2)
    #expect(scalars["weight_decay"] == 5e-4 && scalars["momentum"] == 0.9)
  }

  @Test func settingsThatCannotTrainAreNamed() {
    var config = TrainingConfig()
    #expect(config.invalidSetting() == nil)
    config.optimizer = "adam"
    #expect(config.invalidSetting()?.contains("unknown optimizer 'adam'") == true)
    config = TrainingConfig()
    config.momentum = 1
    #expect(config.invalidSetting()?.contains("momentum must be in [0, 1)") == true)
    config = TrainingConfig()
    config.temperature = 0
    #expect(config.invalidSetting()?.contains("temperature must be > 0") == true)
    config = TrainingConfig()
    config.weightDecay = .nan
    #expect(config.invalidSetting()?.contains("weight decay") == true)
  }

  @Test func theScheduleWarmsUpLinearlyThenDecaysToZero() {
    let schedule = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 14)
    #expect(schedule.rate(at: 0) == 0.25 && schedule.rate(at: 3) == 1)
    #expect(abs(schedule.rate(at: 9) - 0.5) < 1e-12)
    #expect(schedule.rate(at: 14) == 0)
  }
}
