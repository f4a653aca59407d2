// The "Ask" sidebar: the conversation (answers, PromQL, charts), the question box, microphone and screenshots.
// Everything from the server or the user is put on the page with textContent, never as HTML.
import { Widget } from '@lumino/widgets';

import { ask, IAnswer, IBackendChoice, Promv5Error, screenshot, transcribe } from './api';
import { renderChart } from './chart';
import { Recorder } from './wav';

export interface IAskPanelOptions {
  choice: () => IBackendChoice;
  insertCell: (question: string) => Promise<void>;
}

function div(cls: string, text?: string): HTMLDivElement {
  const node = document.createElement('div');
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'jp-mod-styled';
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

export class AskPanel extends Widget {
  readonly input: HTMLTextAreaElement;
  private log: HTMLDivElement;
  private micButton: HTMLButtonElement;
  private recorder = new Recorder();
  lastQuestion: string | null = null;

  constructor(private options: IAskPanelOptions) {
    super();
    this.id = 'promv5-ask';
    this.addClass('p5-panel');
    this.title.caption = 'promv5-lab: ask your telemetry';
    this.node.appendChild(div('p5-header', 'Ask promv5-lab'));
    this.log = div('p5-log');
    this.log.setAttribute('aria-live', 'polite');
    this.node.appendChild(this.log);
    const form = div('p5-form');
    this.input = document.createElement('textarea');
    this.input.placeholder = 'e.g. p95 latency of checkout over the last hour (Enter to ask; paste or drop a screenshot)';
    this.input.setAttribute('aria-label', 'Question');
    this.input.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.ask();
      }
    });
    form.appendChild(this.input);
    form.appendChild(button('Ask', 'Ask the question', () => void this.ask()));
    this.micButton = button('🎤 Speak', 'Record a spoken question (click again to stop)', () => void this.toggleMic());
    form.appendChild(this.micButton);
    form.appendChild(button('Clear', 'Clear the conversation display', () => this.log.replaceChildren()));
    this.node.appendChild(form);
    this.node.addEventListener('paste', e => this.onPaste(e));
    this.node.addEventListener('dragover', e => {
      e.preventDefault();
      this.addClass('p5-drop');
    });
    this.node.addEventListener('dragleave', () => this.removeClass('p5-drop'));
    this.node.addEventListener('drop', e => this.onDrop(e));
  }

  async ask(question?: string): Promise<IAnswer | null> {
    const q = (question ?? this.input.value).trim();
    if (!q) {
      return null;
    }
    this.input.value = '';
    this.lastQuestion = q;
    const turn = div('p5-turn p5-busy');
    turn.appendChild(div('p5-question', q));
    const status = div('p5-hint', 'Thinking…');
    turn.appendChild(status);
    this.log.appendChild(turn);
    this.scroll();
    try {
      const answer = await ask(q, this.options.choice());
      status.remove();
      this.renderAnswer(turn, answer);
      return answer;
    } catch (error) {
      status.remove();
      this.renderError(turn, error);
      return null;
    } finally {
      turn.classList.remove('p5-busy');
      this.scroll();
    }
  }

  private renderAnswer(turn: HTMLElement, a: IAnswer): void {
    turn.dataset.route = a.route;
    turn.appendChild(div(a.error ? 'p5-answer p5-error' : 'p5-answer', a.answer));
    if (a.clarification && a.clarification.candidates.length) {
      const choices = div('p5-actions');
      for (const c of a.clarification.candidates.slice(0, 6)) {
        choices.appendChild(button(c, 'Ask this instead', () => void this.ask(c)));
      }
      turn.appendChild(choices);
    }
    if (a.promql) {
      const code = document.createElement('code');
      code.className = 'p5-promql';
      code.textContent = a.promql;
      turn.appendChild(code);
    }
    const chart = renderChart(a.series || []);
    if (chart) {
      turn.appendChild(chart);
    }
    const actions = div('p5-actions');
    actions.appendChild(button('Insert %%ask cell', 'Insert this question as a %%ask cell in the active notebook and run it',
      () => void this.options.insertCell(a.question)));
    if (a.promql) {
      const promql = a.promql;
      actions.appendChild(button('Copy PromQL', 'Copy the PromQL to the clipboard',
        () => void navigator.clipboard?.writeText(promql)));
    }
    turn.appendChild(actions);
  }

  private renderError(turn: HTMLElement, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    turn.appendChild(div('p5-error', message));
    if (error instanceof Promv5Error && error.hint) {
      turn.appendChild(div('p5-hint', `Hint: ${error.hint}`));
    }
  }

  private note(text: string, cls = 'p5-hint'): HTMLDivElement {
    const turn = div('p5-turn');
    turn.appendChild(div(cls, text));
    this.log.appendChild(turn);
    this.scroll();
    return turn;
  }

  async toggleMic(): Promise<void> {
    if (!this.recorder.recording) {
      try {
        await this.recorder.start();
        this.micButton.textContent = '■ Stop';
      } catch (error) {
        this.note(`Cannot use the microphone: ${error}`, 'p5-error');
      }
      return;
    }
    this.micButton.textContent = '🎤 Speak';
    const turn = this.note('Transcribing…');
    try {
      const wav = await this.recorder.stop();
      const heard = await transcribe(wav, this.options.choice());
      turn.remove();
      this.input.value = heard.text;
      await this.ask(heard.text);
    } catch (error) {
      turn.replaceChildren();
      this.renderError(turn, error);
    }
  }

  private onPaste(e: ClipboardEvent): void {
    const file = Array.from(e.clipboardData?.files || []).find(f => f.type.startsWith('image/'));
    if (file) {
      e.preventDefault();
      void this.analyze(file);
    }
  }

  private onDrop(e: DragEvent): void {
    this.removeClass('p5-drop');
    const file = Array.from(e.dataTransfer?.files || []).find(f => f.type.startsWith('image/'));
    if (file) {
      e.preventDefault();
      void this.analyze(file);
    }
  }

  async analyze(image: Blob): Promise<void> {
    const turn = div('p5-turn p5-busy');
    turn.appendChild(div('p5-question', 'Screenshot'));
    const status = div('p5-hint', 'Analysing the screenshot…');
    turn.appendChild(status);
    this.log.appendChild(turn);
    try {
      const report = await screenshot(image);
      status.remove();
      const panels: any[] = report.panels || [];
      turn.appendChild(div('p5-answer',
        `${panels.length} panel(s), ${report.anomalous_panels} anomalous (values ${report.values}).`));
      panels.forEach((p, i) => {
        const where = p.where && p.where.time ? ` at ${p.where.time}` :
          p.where ? ` at ${Math.round(p.where.fraction * 100)}% of the time axis` : '';
        const title = p.title ? `“${p.title}”` : `panel ${i + 1}`;
        const text = p.anomalous ? `${title}: ${p.kind} (confidence ${p.confidence})${where}` : `${title}: looks normal`;
        turn.appendChild(div(p.anomalous ? 'p5-answer p5-error' : 'p5-answer', text));
        for (const q of p.queries || []) {
          if (q && q.promql) {
            const code = document.createElement('code');
            code.className = 'p5-promql';
            code.textContent = String(q.promql);
            turn.appendChild(code);
          }
        }
      });
      for (const n of report.notes || []) {
        turn.appendChild(div('p5-hint', String(n)));
      }
    } catch (error) {
      status.remove();
      this.renderError(turn, error);
    } finally {
      turn.classList.remove('p5-busy');
      this.scroll();
    }
  }

  private scroll(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
