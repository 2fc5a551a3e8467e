export { diffTrees, type TreeDiff, type EnvironmentDiff, type FileChange, type ResourceChange, type ChangeKind, type NewFile } from './treeDiff';
export { parseResources, resourceId, type ResourceIdentity, type ParsedResource } from './resources';
export { renderSummaryMarkdown, defaultSummaryMaxBytes, type SummaryInput } from './summaryMarkdown';
export { renderChangeSummary, type ChangeSummaryInput, type ValueChange, type PromotionReport } from './changeSummary';
export { escapeMarkdown, neutraliseLoggingCommands, fenced, formatBytes } from './markdown';
