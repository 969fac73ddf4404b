/**
 * Train screen state: the config draft (validated through `config:resolve`, errors per field), the MixUp
 * schedule (from `mixup:preview`, or derived from the resolved config), and the run monitor fed by the
 * `train.progress` / `train.epoch` / `run.status` events of the started `runs:train` call.
 */
import type { EpochAudit, EpochRow, PreviewResult, RunConfig, RunDetail, TrainProgressEvent } from '../../../../src-main/api/types';
import { fieldErrorsFrom, type FieldErrors } from '../train/config-errors';
import { scheduleFromConfig, scheduleFromPreview, type ScheduleEpoch } from '../train/schedule';
import { app } from './app.svelte';

export interface RampDraft {
  kind: 'none' | 'constant' | 'linear' | 'cosine';
  startEpoch: number;
  endEpoch: number;
  startFactor: number;
  endFactor: number;
}

export interface ConfigDraft {
  seed: number;
  epochs: number;
  batchSize: number;
  arch: string;
  /** A pretrained backbone's name ('' = train `arch` from scratch). */
  backbone: string;
  /** Hidden ReLU units of the head on a backbone (0 = a linear head). */
  headHidden: number;
  inputAuto: boolean;
  inputH: number;
  inputW: number;
  channels: 'auto' | '1' | '3';
  optimizer: string;
  lr: number;
  weightDecay: number;
  lrSchedule: string;
  flip: boolean;
  padCrop: number;
  alpha: number;
  mode: 'batch' | 'elem' | 'pair';
  prob: number;
  cutmixAlpha: number;
  switchProb: number;
  labelSmoothing: number;
  offEpochOn: boolean;
  offEpoch: number;
  manifoldOn: boolean;
  manifoldLayers: string;
  manifoldIncludeInput: boolean;
  lambdaMax: boolean;
  alphaRamp: RampDraft;
  probRamp: RampDraft;
}

export function defaultDraft(): ConfigDraft {
  const ramp = (): RampDraft => ({ kind: 'none', startEpoch: 0, endEpoch: 5, startFactor: 0, endFactor: 1 });
  return {
    seed: 7, epochs: 10, batchSize: 64, arch: 'cnn-small', backbone: '', headHidden: 0, inputAuto: true, inputH: 28, inputW: 28, channels: 'auto',
    optimizer: 'adam', lr: 0.001, weightDecay: 0, lrSchedule: 'constant', flip: false, padCrop: 0,
    alpha: 0.2, mode: 'batch', prob: 1, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0,
    offEpochOn: false, offEpoch: 8, manifoldOn: false, manifoldLayers: '', manifoldIncludeInput: true, lambdaMax: false,
    alphaRamp: ramp(), probRamp: ramp(),
  };
}

/** The raw config the draft stands for (what `config:resolve` and `runs:train` receive). */
export function draftToConfig(d: ConfigDraft): Record<string, unknown> {
  const ramp = (r: RampDraft) =>
    r.kind === 'none' ? null : { kind: r.kind, startEpoch: r.startEpoch, endEpoch: r.endEpoch, startFactor: r.startFactor, endFactor: r.endFactor };
  return {
    seed: d.seed,
    epochs: d.epochs,
    batchSize: d.batchSize,
    // On a backbone the input shape is the backbone's (left null); a head trains on its embeddings.
    model: d.backbone
      ? { arch: d.arch, backbone: d.backbone, head: { hidden: d.headHidden } }
      : { arch: d.arch, inputSize: d.inputAuto ? null : [d.inputH, d.inputW], channels: d.channels === 'auto' ? null : Number(d.channels) },
    optimizer: { name: d.optimizer, lr: d.lr, weightDecay: d.weightDecay, schedule: d.lrSchedule },
    augment: { flip: d.flip, padCrop: d.padCrop },
    mixup: {
      alpha: d.alpha, mode: d.mode, prob: d.prob, cutmixAlpha: d.cutmixAlpha, switchProb: d.switchProb,
      labelSmoothing: d.labelSmoothing, offEpoch: d.offEpochOn ? d.offEpoch : null,
      manifold: d.manifoldOn ? { layers: d.manifoldLayers.split(',').map((s) => s.trim()).filter(Boolean), includeInput: d.manifoldIncludeInput } : null,
      lambdaMax: d.lambdaMax, alphaRamp: ramp(d.alphaRamp), probRamp: ramp(d.probRamp),
    },
  };
}

/** An epoch as the monitor shows it: losses not finite (a diverged run) shown as gaps. */
export interface EpochView extends Omit<EpochRow, 'trainLoss'> {
  trainLoss: number | null;
  audit?: EpochAudit;
}

export interface RunMonitor {
  callId: string;
  runId: number | null;
  status: string;
  progress: TrainProgressEvent | null;
  epochs: EpochView[];
  startedAt: number;
  cancel(): void;
}

/** A run still going (the worker reports `starting` before its first batch). */
export function isActive(status: string): boolean {
  return status === 'running' || status === 'starting';
}

function finiteOr(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export class TrainState {
  draft = $state<ConfigDraft>(defaultDraft());
  errors = $state.raw<FieldErrors>({});
  resolved = $state.raw<RunConfig | null>(null);
  validating = $state(false);
  preview = $state.raw<PreviewResult | null>(null);
  previewBusy = $state(false);
  monitor = $state<RunMonitor | null>(null);
  /** The imported backbones (`backbones:list`), for the config editor's picker. */
  backbones = $state.raw<{ name: string; featureSize: number; format: string }[]>([]);
  /** The run whose audit is shown (epoch index). */
  auditEpoch = $state<number | null>(null);

  config = $derived(draftToConfig(this.draft));
  configKey = $derived(JSON.stringify(this.config));
  /** The config (key) the preview was computed for: a preview of an older config is not shown. */
  previewFor = $state<string | null>(null);
  currentPreview = $derived(this.preview && this.previewFor === `${app.datasetId}:${this.configKey}` ? this.preview : null);
  schedule = $derived<ScheduleEpoch[]>(
    this.currentPreview ? scheduleFromPreview(this.currentPreview) : this.resolved ? scheduleFromConfig(this.resolved) : [],
  );
  running = $derived(this.monitor !== null && isActive(this.monitor.status));

  #seq = 0;

  /** A config for previews that works before validation finished (falls back to the defaults). */
  previewConfig(): Record<string, unknown> {
    return Object.keys(this.errors).length === 0 ? $state.snapshot(this.config) : {};
  }

  /**
   * Validates the draft through `config:resolve`; field errors end up in `errors`. Resolves to whether the
   * config sent was valid, even when a newer validation has since taken over the displayed state (the
   * debounced editor check and a Start/Preview click may overlap).
   */
  async loadBackbones(): Promise<void> {
    const list = await app.attempt('Could not list the backbones', () => app.api.call('backbones:list', {}));
    if (list) this.backbones = list;
  }

  async validate(dataset: number | null = app.datasetId): Promise<boolean> {
    const seq = ++this.#seq;
    const config = $state.snapshot(this.config);
    this.validating = true;
    try {
      const res = await app.api.call('config:resolve', dataset != null ? { config, dataset } : { config });
      if (seq === this.#seq) {
        this.resolved = res;
        this.errors = {};
      }
      return true;
    } catch (err) {
      if (seq === this.#seq) {
        if ((err as { kind?: string }).kind === 'input') this.errors = fieldErrorsFrom(err);
        else app.error(err, 'Could not validate the config');
      }
      return false;
    } finally {
      if (seq === this.#seq) this.validating = false;
    }
  }

  async runPreview(dataset: number): Promise<void> {
    if (!(await this.validate())) return;
    this.previewBusy = true;
    const key = this.configKey;
    try {
      const doc = await app.attempt('Could not preview MixUp', () =>
        app.api.call('mixup:preview', { dataset: String(dataset), config: JSON.parse(key) }),
      );
      if (doc) {
        this.preview = doc;
        this.previewFor = `${dataset}:${key}`;
      }
    } finally {
      this.previewBusy = false;
    }
  }

  /** Starts `runs:train` and follows it until it ends. */
  async start(dataset: number): Promise<void> {
    if (this.running) return;
    if (!(await this.validate())) {
      app.error(new Error('Fix the fields marked in red first'), 'The config is not valid');
      return;
    }
    const started = app.api.start('runs:train', { dataset: String(dataset), config: $state.snapshot(this.config) });
    const monitor: RunMonitor = {
      callId: started.id, runId: null, status: 'running', progress: null, epochs: [], startedAt: Date.now(),
      cancel: () => this.cancel(),
    };
    this.monitor = monitor;
    this.auditEpoch = null;
    const mine = (data: unknown, callId?: string): data is { runId: number } => {
      const runId = (data as { runId?: number })?.runId;
      if (callId !== undefined) {
        if (callId !== started.id) return false;
      } else if (this.monitor?.runId != null && runId !== this.monitor.runId) return false;
      if (this.monitor && this.monitor.runId == null && typeof runId === 'number') this.monitor.runId = runId;
      return this.monitor?.callId === started.id;
    };
    const offs = [
      app.api.on('train.progress', (data, callId) => {
        if (mine(data, callId)) this.monitor!.progress = data;
      }),
      app.api.on('train.epoch', (data, callId) => {
        if (!mine(data, callId)) return;
        const { runId: _runId, ...row } = data;
        this.addEpoch(row);
      }),
      app.api.on('run.status', (data, callId) => {
        if (mine(data, callId)) this.monitor!.status = data.status;
      }),
    ];
    try {
      const doc = await started.result;
      if (this.monitor?.callId === started.id) {
        this.monitor.runId = doc.run?.id ?? this.monitor.runId;
        this.monitor.status = doc.status;
        // The final document is the truth: take its epochs (events may have been missed on a reconnect).
        const audits = new Map(this.monitor.epochs.map((e) => [e.epoch, e.audit]));
        this.monitor.epochs = doc.epochs.map((e) => ({ ...e, audit: audits.get(e.epoch) }));
      }
      await this.loadAudit();
      app.info(`Run #${doc.run.id} ${doc.status}`, doc.metrics?.valAccuracy != null ? `val accuracy ${(doc.metrics.valAccuracy * 100).toFixed(1)}%` : '');
    } catch (err) {
      if (this.monitor?.callId === started.id) this.monitor.status = (err as { kind?: string }).kind === 'cancelled' ? 'cancelled' : 'failed';
      app.error(err, 'Training stopped');
    } finally {
      for (const off of offs) off();
    }
  }

  private addEpoch(row: EpochView): void {
    const m = this.monitor;
    if (!m) return;
    const clean: EpochView = {
      ...row,
      trainLoss: finiteOr(row.trainLoss), valLoss: finiteOr(row.valLoss), valAccuracy: finiteOr(row.valAccuracy), ece: finiteOr(row.ece),
    };
    m.epochs = [...m.epochs.filter((e) => e.epoch !== row.epoch), clean].sort((a, b) => a.epoch - b.epoch);
    if (!row.audit) void this.loadAudit();
  }

  /** Fetches the run's audit (λ values, pairs) from `runs:show` and attaches it to the epochs. */
  async loadAudit(): Promise<void> {
    const m = this.monitor;
    if (!m || m.runId == null) return;
    try {
      const run = await app.api.call('runs:show', { run: m.runId });
      if (this.monitor !== m || !run.audit) return;
      const byEpoch = new Map(run.audit.map((a, i) => [a?.epoch ?? i, a ?? undefined]));
      m.epochs = m.epochs.map((e) => ({ ...e, audit: e.audit ?? byEpoch.get(e.epoch) }));
    } catch {
      // The audit is a detail of the monitor; the run itself goes on. The final document reloads it.
    }
  }

  async cancel(): Promise<void> {
    const m = this.monitor;
    if (!m || !isActive(m.status)) return;
    const runId = m.runId;
    if (runId != null) {
      await app.attempt('Could not cancel the run', () => app.api.call('runs:cancel', { run: runId }));
    }
  }
}

export const train = new TrainState();
