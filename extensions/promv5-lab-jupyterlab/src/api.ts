// Calls to the promv5-lab server extension (/promv5/*) with Jupyter's token and XSRF handling.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface ISeries {
  labels: { [key: string]: string };
  values: Array<[number, number | null]>;
}

export interface IAnswer {
  question: string;
  answer: string;
  promql: string | null;
  kind: string | null;
  route: string;
  start: string | null;
  end: string | null;
  series: ISeries[];
  error: string | null;
  backend?: string;
  clarification: { message: string; candidates: string[] } | null;
}

export class Promv5Error extends Error {
  constructor(
    message: string,
    public readonly status: number,
    public readonly hint: string | null
  ) {
    super(message);
  }
}

export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'promv5', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new Promv5Error(`Cannot reach the Jupyter server: ${error}`, 0, null);
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && (data.error || data.message)) || response.statusText || 'request failed';
    throw new Promv5Error(String(message), response.status, data && data.hint ? String(data.hint) : null);
  }
  return data as T;
}

export interface IBackendChoice {
  backend?: string;
  data?: string;
}

export function ask(question: string, choice: IBackendChoice): Promise<IAnswer> {
  return requestAPI<IAnswer>('ask', { method: 'POST', body: JSON.stringify({ question, ...choice }) });
}

export function transcribe(wav: Blob, choice: IBackendChoice): Promise<{ text: string; confidence: number }> {
  const query = new URLSearchParams();
  if (choice.backend) {
    query.set('backend', choice.backend);
  } else if (choice.data) {
    query.set('data', choice.data);
  }
  const qs = query.toString();
  return requestAPI('transcribe' + (qs ? `?${qs}` : ''), {
    method: 'POST',
    body: wav,
    headers: { 'Content-Type': 'audio/wav' }
  });
}

export function screenshot(image: Blob): Promise<any> {
  return requestAPI('screenshot', {
    method: 'POST',
    body: image,
    headers: { 'Content-Type': image.type || 'application/octet-stream' }
  });
}
