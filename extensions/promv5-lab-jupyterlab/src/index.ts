// promv5-lab in JupyterLab: the Ask sidebar, %%ask cells, command-palette entries and settings.
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IBackendChoice, requestAPI } from './api';
import { askCellSource } from './cells';
import { AskPanel } from './panel';

const PLUGIN_ID = 'promv5-lab-jupyterlab:plugin';

namespace CommandIDs {
  export const open = 'promv5:open-ask';
  export const ask = 'promv5:ask';
  export const insert = 'promv5:insert-ask-cell';
  export const status = 'promv5:status';
}

const icon = new LabIcon({
  name: 'promv5:icon',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" ' +
    'd="M3 17l5-6 4 3 6-8 3 2-8 11-4-3-4 5z"/></svg>'
});

const URL_RE = /^https?:\/\/[^\s'"\\]+$/;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'An Ask sidebar for promv5-lab: answers with PromQL and charts, %%ask cells, voice and screenshots.',
  autoStart: true,
  optional: [ICommandPalette, ISettingRegistry, INotebookTracker, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    restorer: ILayoutRestorer | null
  ) => {
    let backendUrl = '';
    let dataDir = '';
    const choice = (): IBackendChoice => {
      if (backendUrl && URL_RE.test(backendUrl)) {
        return { backend: backendUrl };
      }
      return dataDir ? { data: dataDir } : {};
    };

    const insertCell = async (question: string): Promise<void> => {
      const current = notebooks?.currentWidget;
      if (!current) {
        await showDialog({ title: 'No notebook', body: 'Open a notebook first, then insert the %%ask cell.',
          buttons: [Dialog.okButton()] });
        return;
      }
      await current.sessionContext.ready;
      const kernel = current.sessionContext.session?.kernel;
      if (kernel) {
        // load the magics quietly (the cell itself names the backend, so it re-runs the same way)
        await kernel.requestExecute({ code: '%load_ext promv5_lab', silent: true, store_history: false }).done;
      }
      const nb = current.content;
      NotebookActions.insertBelow(nb);
      const cell = nb.activeCell;
      if (cell) {
        cell.model.sharedModel.setSource(askCellSource(question, choice()));
      }
      await NotebookActions.run(nb, current.sessionContext);
    };

    const panel = new AskPanel({ choice, insertCell });
    panel.title.icon = icon;
    app.shell.add(panel, 'right', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'promv5-ask');
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'promv5-lab: Open the Ask sidebar',
      execute: () => {
        app.shell.activateById(panel.id);
        panel.input.focus();
      }
    });
    app.commands.addCommand(CommandIDs.ask, {
      label: 'promv5-lab: Ask a question',
      execute: async args => {
        app.shell.activateById(panel.id);
        const q = typeof args['question'] === 'string' ? (args['question'] as string) : undefined;
        return q ? panel.ask(q) : panel.input.focus();
      }
    });
    app.commands.addCommand(CommandIDs.insert, {
      label: 'promv5-lab: Insert the last question as a %%ask cell',
      isEnabled: () => panel.lastQuestion !== null && !!notebooks?.currentWidget,
      execute: () => (panel.lastQuestion ? insertCell(panel.lastQuestion) : undefined)
    });
    app.commands.addCommand(CommandIDs.status, {
      label: 'promv5-lab: Show capabilities',
      execute: async () => {
        const body = new Widget();
        try {
          const status: any = await requestAPI('status');
          const table = document.createElement('table');
          for (const row of status.capabilities) {
            const tr = document.createElement('tr');
            for (const v of [row.capability, row.state, row.detail]) {
              const td = document.createElement('td');
              td.textContent = String(v);
              tr.appendChild(td);
            }
            table.appendChild(tr);
          }
          body.node.appendChild(table);
        } catch (error) {
          body.node.textContent = String(error);
        }
        await showDialog({ title: 'promv5-lab', body, buttons: [Dialog.okButton()] });
      }
    });
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.ask, CommandIDs.insert, CommandIDs.status]) {
        palette.addItem({ command, category: 'promv5-lab' });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        backendUrl = String(settings.get('backendUrl').composite || '').trim();
        dataDir = String(settings.get('dataDir').composite || '').trim();
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('promv5-lab: cannot load settings', reason));
    }
  }
};

export default plugin;
