import type { AnnouncerFactory } from '../tasks/announcer';
import type { DiscordMessenger, MessageBody } from './messenger';
import { createTaskThreadAnnouncer, type TaskThreadAnnouncerDeps } from './task-thread-announcer';

/**
 * The Discord announcers, chosen by the audience an activity input names: a task's own thread, or a plan's
 * thread, where the same messages are each labelled with the item they speak for.
 */
export function createDiscordAnnouncers(deps: TaskThreadAnnouncerDeps): AnnouncerFactory {
  return (task) => {
    switch (task.audience.kind) {
      case 'task_thread':
        return createTaskThreadAnnouncer(deps, task);
      case 'plan_thread':
        return createTaskThreadAnnouncer({ ...deps, discord: labelled(deps.discord, itemLabel(task.audience.issueNumber, task.audience.issueTitle)) }, task);
    }
  };
}

/** How a plan's thread names an item: its issue number and a short title. */
export function itemLabel(issueNumber: number, title: string): string {
  const short = title.length > 60 ? `${title.slice(0, 59)}…` : title;
  return `**#${issueNumber}** ${short}`;
}

/** A messenger that puts `label` on its own line above every message it posts or edits. */
function labelled(discord: DiscordMessenger, label: string): DiscordMessenger {
  const withLabel = (body: MessageBody): MessageBody => ({ ...body, content: body.content ? `${label}\n${body.content}`.slice(0, 2000) : label });
  return {
    ...discord,
    postMessage: (channelId, body, options) => discord.postMessage(channelId, withLabel(body), options),
    editMessage: (channelId, messageId, body, options) => discord.editMessage(channelId, messageId, withLabel(body), options),
  };
}
