/**
 * What the model's input is made of: pixels scaled by `scale` (PIXEL_SCALE maps uint8 to [0, 1]), then
 * normalised per channel, `x = (pixel * scale − mean[c]) / std[c]`, at `inputSize` ('fill' resize).
 */

export const PIXEL_SCALE = 1 / 255;

/**
 * How an image is brought to the input size: 'fill' stretches it to the size (the app's models); 'center-crop'
 * scales its shorter side to the size and cuts the centre (the torchvision/timm convention of pretrained backbones).
 */
export type ResizeMode = 'fill' | 'center-crop';

export interface Preprocessing {
  inputSize: [number, number];
  channels: 1 | 3;
  scale: number;
  mean: number[];
  std: number[];
  resize: ResizeMode;
  /** A backbone's input layout (the app's own models take NHWC). */
  layout?: 'NCHW' | 'NHWC';
  /** The pretrained backbone whose features the model's head takes, when there is one. */
  backbone?: { name: string; format: string; sha256: string; featureSize: number };
}
