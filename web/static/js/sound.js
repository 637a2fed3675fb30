// An optional sound for new texts (off until the agent turns it on; remembered per browser).
// A short tone made with Web Audio, so there is no file to fetch.
const KEY = "switchboard.sound";
let audio = null;

const enabled = () => {
  try {
    return localStorage.getItem(KEY) === "1";
  } catch {
    return false;
  }
};

// Browsers start audio suspended until the page gets a click or a key press: take the first.
function unlock() {
  if (!enabled() || !window.AudioContext) return;
  audio ||= new AudioContext();
  if (audio.state === "suspended") audio.resume().catch(() => {});
}

export function chime() {
  if (!enabled() || !window.AudioContext) return;
  unlock();
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.15, audio.currentTime);
  volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
  tone.connect(volume).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.25);
}

export function wireSound() {
  const toggle = document.getElementById("sound-toggle");
  toggle.checked = enabled();
  toggle.addEventListener("change", () => {
    try {
      localStorage.setItem(KEY, toggle.checked ? "1" : "");
    } catch {
      // not remembered
    }
    if (toggle.checked) chime(); // what it will sound like
  });
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlock, { once: true });
}
