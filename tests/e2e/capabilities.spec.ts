import { expect, test, type Page } from './fixtures';
import { LIVE, signIn, arrive, openConversation } from './people';

/**
 * Issue 13, as people see it in the built app: "typing…" from the widget to the inbox, the
 * team's status in the widget following an agent's availability, and idle after a tab went
 * without input (the e2e server's PRESENCE_IDLE_AFTER_MS is 4 s: tests/e2e/server.mjs).
 */

async function setAvailability(agent: Page, value: 'available' | 'busy' | 'away') {
	const select = agent.getByLabel('Your availability');
	await select.selectOption(value);
	await expect(agent.getByTestId('availability-select')).toHaveAttribute(
		'data-availability',
		value,
		LIVE
	);
}

test('the agent sees "typing…" while the visitor types, and it ends when the message arrives', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitor = await arrive(browser);
	try {
		const agent = await agentContext.newPage();
		await signIn(agent);
		const listItem = agent.locator(
			`[data-testid="conversation-item"][data-conversation-id="${visitor.conversationId}"]`
		);
		await expect(listItem).toBeVisible(LIVE);
		await openConversation(agent, visitor.conversationId);
		const typing = agent.getByTestId('typing');
		await expect(typing).toHaveCount(0);

		await visitor.page.getByTestId('chat-launcher').click();
		const box = visitor.page.getByLabel('Your message');
		await box.pressSequentially('Does the kettle', { delay: 60 });
		await expect(typing).toHaveText(/is typing…/, LIVE);
		await expect(listItem.getByTestId('list-typing')).toHaveText('typing…');

		// Keeps showing while the visitor keeps typing (each report extends it on the server).
		await box.pressSequentially(' come in blue?', { delay: 60 });
		await expect(typing).toBeVisible();

		await box.press('Enter');
		const message = agent
			.getByTestId('message')
			.filter({ hasText: 'Does the kettle come in blue?' });
		await expect(message).toBeVisible(LIVE);
		// On the visitor's side, and read out to a screen reader (issue 12).
		await expect(message).toHaveAttribute('data-side', 'visitor');
		await expect(agent.getByTestId('announcer')).toHaveText(
			/New message from .+: Does the kettle come in blue\?/
		);
		await expect(typing).toHaveCount(0);
		await expect(listItem.getByTestId('list-typing')).toHaveCount(0);
		await expect(listItem.getByTestId('last-message')).toHaveText('Does the kettle come in blue?');

		// The other way round: the agent types, the widget names them.
		await agent.getByLabel('Reply').pressSequentially('Yes, it', { delay: 60 });
		await expect(visitor.page.getByTestId('widget-typing')).toHaveText('Ada is typing…', LIVE);
		await agent.getByLabel('Reply').press('Enter');
		await expect(
			visitor.page.getByTestId('widget-message').filter({ hasText: 'Yes, it' })
		).toBeVisible(LIVE);
		await expect(visitor.page.getByTestId('widget-typing')).toHaveCount(0);
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});

test('an agent set to away makes the widget say the team is not there when nobody else is available', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitor = await arrive(browser);
	const agent = await agentContext.newPage();
	try {
		await visitor.page.getByTestId('chat-launcher').click();
		const team = visitor.page.getByTestId('team-status');
		// Grace never signs in here; Ada is the only agent who may be there.
		await signIn(agent);
		await setAvailability(agent, 'available');
		await expect(team).toHaveText('We’re online', LIVE);

		await setAvailability(agent, 'away');
		await expect(team).toHaveText('We’ll get back to you', LIVE);
		await expect(team).toHaveAttribute('data-online', 'false');

		// The choice is stored: a reload of the inbox keeps it, and the widget stays as it was.
		await agent.reload();
		await expect(agent.getByTestId('stream-state')).toHaveAttribute('data-connected', 'true', LIVE);
		await expect(agent.getByTestId('availability-select')).toHaveAttribute(
			'data-availability',
			'away'
		);
		await expect(team).toHaveText('We’ll get back to you');

		// A visitor arriving now starts from the same status.
		const second = await arrive(browser);
		await second.page.getByTestId('chat-launcher').click();
		await expect(second.page.getByTestId('team-status')).toHaveText('We’ll get back to you', LIVE);
		await second.context.close();

		await setAvailability(agent, 'available');
		await expect(team).toHaveText('We’re online', LIVE);
	} finally {
		// Leave the demo agent as other specs expect to find her.
		await setAvailability(agent, 'available').catch(() => {});
		await visitor.context.close();
		await agentContext.close();
	}
});

test('a tab left without input shows its person idle to the agent, and input ends it', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitor = await arrive(browser);
	try {
		const agent = await agentContext.newPage();
		await signIn(agent);
		await openConversation(agent, visitor.conversationId);
		const panel = agent.getByTestId('visitor-panel');
		await expect(panel).toHaveAttribute('data-status', 'active', LIVE);
		const idle = agent.getByTestId('visitor-idle');
		const header = agent.locator('.chat header [data-testid="presence-label"]');

		// Input keeps the tab active: a keypress every second for longer than the idle time.
		for (let i = 0; i < 6; i++) {
			await visitor.page.keyboard.press('Shift');
			await agent.waitForTimeout(1000);
		}
		await expect(idle).toHaveCount(0);
		await expect(header).toHaveText('Active');

		// Then nothing: past 4 s the person shows idle, still there (not offline).
		await expect(idle).toHaveText('Idle · <1 min', LIVE);
		await expect(header).toHaveText('Idle · <1 min');
		await expect(header).toHaveAttribute('data-idle', 'true');
		await expect(panel).toHaveAttribute('data-status', 'active');
		await expect(agent.getByTestId('visitor-presence')).toHaveText('Active');

		// The next input ends it.
		await visitor.page.mouse.move(40, 40);
		await visitor.page.mouse.move(80, 80);
		await expect(idle).toHaveCount(0, LIVE);
		await expect(header).toHaveText('Active');
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});
