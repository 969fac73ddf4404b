import { describe, expect, it } from 'vitest';
import {
  confusionMatrix,
  evaluateProbabilities,
  expectedCalibrationError,
  negativeLogLikelihood,
} from '../../src-main/training/metrics';

describe('evaluation metrics', () => {
  // 4 samples, 3 classes; labels 0, 1, 2, 0.
  const probs = [0.7, 0.2, 0.1, 0.1, 0.5, 0.4, 0.3, 0.3, 0.4, 0.2, 0.7, 0.1];
  const labels = [0, 1, 2, 0];

  it('computes NLL as the mean −log p(true class), by hand', () => {
    const hand = -(Math.log(0.7) + Math.log(0.5) + Math.log(0.4) + Math.log(0.2)) / 4;
    expect(negativeLogLikelihood(probs, labels, 3)).toBeCloseTo(hand, 12);
  });

  it('computes the confusion matrix as [true][predicted] counts and per-class accuracy from it', () => {
    const m = evaluateProbabilities(probs, labels, 3);
    // predictions: 0, 1, 2, 1
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(m.perClassAccuracy).toEqual([0.5, 1, 1]);
    expect(m.accuracy).toBe(0.75);
    expect(confusionMatrix([1, 1], [0, 1], 2)).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('computes ECE over 15 equal-width bins, by hand', () => {
    // confidences 0.7 (correct), 0.5 (correct), 0.4 (correct), 0.7 (wrong).
    // bins of width 1/15: 0.7 → bin ceil(10.5)-1 = 10; 0.5 → bin ceil(7.5)-1 = 7; 0.4 → bin ceil(6)-1 = 5.
    // bin 10: acc 0.5, conf 0.7 → weight 2/4 · 0.2; bin 7: |1 − 0.5| · 1/4; bin 5: |1 − 0.4| · 1/4.
    const hand = 0.5 * 0.2 + 0.25 * 0.5 + 0.25 * 0.6;
    expect(expectedCalibrationError(probs, labels, 3)).toBeCloseTo(hand, 12);
    expect(evaluateProbabilities(probs, labels, 3).ece).toBeCloseTo(hand, 12);
  });

  it('gives ECE 0 for perfectly calibrated one-hot predictions and counts confidence 1 in the last bin', () => {
    expect(expectedCalibrationError([1, 0, 0, 1], [0, 1], 2)).toBe(0);
    expect(expectedCalibrationError([1, 0, 0, 1], [1, 0], 2)).toBe(1);
  });

  it('reports a class without samples as null, not NaN', () => {
    const m = evaluateProbabilities([0.9, 0.1, 0.8, 0.2], [0, 0], 2);
    expect(m.perClassAccuracy).toEqual([1, null]);
  });
});
