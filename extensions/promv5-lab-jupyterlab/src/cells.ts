// The %%ask cell a sidebar question becomes (options quoted the way the magic's shlex reads them).
import { IBackendChoice } from './api';

export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'"'"'`)}'`;
}

/** ``%%ask [--backend URL | --data DIR]`` then the question on one line (a cell magic must be the first line). */
export function askCellSource(question: string, choice: IBackendChoice): string {
  let line = '%%ask';
  if (choice.backend) {
    line += ` --backend ${shellQuote(choice.backend)}`;
  } else if (choice.data) {
    line += ` --data ${shellQuote(choice.data)}`;
  }
  return `${line}\n${question.replace(/\s+/g, ' ').trim()}`;
}
