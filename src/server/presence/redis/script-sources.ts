import availability from './lua/availability.lua?raw';
import claimDue from './lua/claim-due.lua?raw';
import disconnect from './lua/disconnect.lua?raw';
import expireHolder from './lua/expire-holder.lua?raw';
import heartbeat from './lua/heartbeat.lua?raw';
import idle from './lua/idle.lua?raw';
import lowerDue from './lua/lower-due.lua?raw';
import noteDue from './lua/note-due.lua?raw';
import online from './lua/online.lua?raw';
import prelude from './lua/prelude.lua?raw';
import reconcile from './lua/reconcile.lua?raw';
import register from './lua/register.lua?raw';
import report from './lua/report.lua?raw';
import settleDue from './lua/settle-due.lua?raw';
import stopTyping from './lua/stop-typing.lua?raw';
import sweep from './lua/sweep.lua?raw';
import typing from './lua/typing.lua?raw';

/**
 * The whole source of every script, by the command name it is defined under. The `.lua` files
 * come in as strings (`?raw`: vite in the build and in vitest, scripts/lua-raw-loader.mjs under
 * tsx); the shared pieces are put in front here, once, so each script is still one atomic
 * EVAL. Workspace scripts start with prelude.lua, the due-index writers with lower-due.lua.
 */
function after(shared: string, script: string): string {
	return `${shared}\n${script}`;
}

export const SCRIPT_SOURCES = {
	presenceRegister: after(prelude, register),
	presenceHeartbeat: after(prelude, heartbeat),
	presenceDisconnect: after(prelude, disconnect),
	presenceReport: after(prelude, report),
	presenceSweep: after(prelude, sweep),
	presenceExpireHolder: after(prelude, expireHolder),
	presenceReconcile: after(prelude, reconcile),
	presenceTyping: after(prelude, typing),
	presenceIdle: after(prelude, idle),
	presenceAvailability: after(prelude, availability),
	presenceStopTyping: after(prelude, stopTyping),
	presenceOnline: online,
	presenceClaimDue: claimDue,
	presenceNoteDue: after(lowerDue, noteDue),
	presenceSettleDue: after(lowerDue, settleDue)
} as const;

export type ScriptName = keyof typeof SCRIPT_SOURCES;
