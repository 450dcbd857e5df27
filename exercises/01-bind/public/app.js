// The frontend's code runs in the browser, on the user's machine. It cannot
// keep the list of users itself: it asks the backend, which holds the one
// shared copy.

const list = document.getElementById("users");
const form = document.getElementById("add-user");
const input = document.getElementById("name");
const statusLine = document.getElementById("status");

function showStatus(message, isError) {
  statusLine.textContent = message;
  statusLine.className = isError ? "error" : "";
}

// Every error from the API is JSON: {"error": "..."}. Fall back to the
// status line when a server (maybe yours, mid-exercise) sends something else.
async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") {
      return body.error;
    }
  } catch (_) {
    // not JSON
  }
  return `${response.status} ${response.statusText}`;
}

function render(users) {
  list.replaceChildren();
  if (users.length === 0) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "No users yet.";
    list.append(empty);
    return;
  }
  for (const user of users) {
    const item = document.createElement("li");
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = `#${user.id}`;
    // textContent, never innerHTML: a name is user input, not markup.
    item.append(id, document.createTextNode(user.name));
    list.append(item);
  }
}

async function loadUsers() {
  try {
    const response = await fetch("/users");
    if (!response.ok) {
      showStatus(`Could not load users: ${await errorMessage(response)}`, true);
      return;
    }
    render(await response.json());
  } catch (err) {
    showStatus(`Could not reach the server: ${err.message}`, true);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const response = await fetch("/users", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: input.value }),
    });
    if (!response.ok) {
      showStatus(`Not added: ${await errorMessage(response)}`, true);
      return;
    }
    const user = await response.json();
    showStatus(`Added ${user.name} as #${user.id} (${response.headers.get("Location")}).`, false);
    input.value = "";
    await loadUsers();
  } catch (err) {
    showStatus(`Could not reach the server: ${err.message}`, true);
  }
});

loadUsers();
