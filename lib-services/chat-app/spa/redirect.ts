// The redirect URI page: MSAL v5 hands the authorization response to the main page from
// here (redirect, popup and silent flows alike). Nothing else runs on this page.
import { broadcastResponseToMainFrame } from '@azure/msal-browser/redirect-bridge';

broadcastResponseToMainFrame().catch(() => {
  const status = document.getElementById('status');
  if (status) status.textContent = 'Sign-in could not be completed. Go back to the chat and sign in again.';
});
