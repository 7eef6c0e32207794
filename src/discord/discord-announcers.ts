import type { AnnouncerFactory } from '../tasks/announcer';
import { createTaskThreadAnnouncer, type TaskThreadAnnouncerDeps } from './task-thread-announcer';

/**
 * The Discord announcers, chosen by the audience an activity input names. Only the task's own thread exists
 * today; a plan's thread (one line per issue) becomes a second case here, not a branch in every activity.
 */
export function createDiscordAnnouncers(deps: TaskThreadAnnouncerDeps): AnnouncerFactory {
  return (task) => {
    switch (task.audience.kind) {
      case 'task_thread':
        return createTaskThreadAnnouncer(deps, task);
    }
  };
}
