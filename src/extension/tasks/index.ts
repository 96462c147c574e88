/**
 * The `kms-envelope` task type, the part registered at activation: tasks.json entries of this
 * type run through TaskProcess (commands bundle), which decrypts their env files when they start.
 */
import vscode = require('vscode');
import type { TaskProcess } from './task-process';
import { EnvTaskDefinition, problemOf, TASK_TYPE } from './definition';

export interface TaskDeps {
  readonly log: vscode.LogOutputChannel;
  /** A task's run, from the commands bundle. */
  readonly process: (def: EnvTaskDefinition, name: string, folder: string | undefined) => TaskProcess;
}

export function registerTasks(d: TaskDeps): vscode.Disposable {
  return vscode.tasks.registerTaskProvider(TASK_TYPE, {
    provideTasks: () => [],
    resolveTask(task) {
      const problem = problemOf(task.definition);
      if (problem) {
        d.log.warn(`task "${task.name}": ${problem}`);
        void vscode.window.showErrorMessage(`KMS Envelope: the task "${task.name}" cannot run: ${problem}.`);
        return undefined;
      }
      const folder = typeof task.scope === 'object' ? task.scope.uri.fsPath : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const execution = new vscode.CustomExecution(async (resolved) => d.process(resolved as EnvTaskDefinition, task.name, folder));
      return new vscode.Task(task.definition, task.scope ?? vscode.TaskScope.Workspace, task.name, TASK_TYPE, execution);
    },
  });
}
