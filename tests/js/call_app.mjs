// Drives the official @gradio/client against the app: node call_app.mjs <app url> <image> <audio>.
// Prints one JSON line with each call's last output (the task's JSON result).
import { readFileSync } from "node:fs";
import { Client, handle_file } from "@gradio/client";

const [url, imagePath] = process.argv.slice(2);
const app = await Client.connect(url);
const translated = await app.predict("/translate", {
  text: "Good morning.", source_language: "English", target_language: "fr",
});
const image = new Blob([readFileSync(imagePath)], { type: "image/jpeg" });
const classified = await app.predict("/classify_image", {
  image: handle_file(image), labels: "cat, dog", model: "openai/clip-vit-base-patch32",
});
let refused = null;
try {
  await app.predict("/translate", { text: "Hello", source_language: "Klingon", target_language: "fr" });
} catch (error) {
  refused = error.message ?? String(error);
}
console.log(JSON.stringify({
  translate: translated.data.at(-1), classify_image: classified.data.at(-1), refused,
}));
process.exit(0);
