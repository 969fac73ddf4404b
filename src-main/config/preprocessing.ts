/**
 * What the model's input is made of: pixels scaled by `scale` (PIXEL_SCALE maps uint8 to [0, 1]), then
 * normalised per channel, `x = (pixel * scale − mean[c]) / std[c]`, at `inputSize` ('fill' resize).
 */

export const PIXEL_SCALE = 1 / 255;

export interface Preprocessing {
  inputSize: [number, number];
  channels: 1 | 3;
  scale: number;
  mean: number[];
  std: number[];
  resize: 'fill';
}
