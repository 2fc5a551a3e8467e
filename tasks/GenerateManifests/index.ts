// Placeholder so the task bundles and packages; the real adapter replaces this file.
import * as tl from 'azure-pipelines-task-lib/task';

tl.setResult(tl.TaskResult.Failed, 'not implemented yet');
process.exitCode = 1;
